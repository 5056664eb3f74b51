/* Tests for harness/client (client_raftnode): against fake RESP servers on loopback that
 * script their replies (redirects, NOTLEADER ?, silence, a close after the request,
 * -TIMEOUT, error replies, values), and against a real 3-node raftnode cluster started by
 * the test itself (skipped when the binary is missing). No assertion depends on how long
 * anything took: deadlines only bound the waits. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness/client/client.h"
#include "harness/client/resp.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "tests/support/fakesrv.h"

#define MS CLOCK_NS_PER_MS

/* ---- a db of loopback nodes, as db_open would make it ------------------------------------ */

struct tdb {
	struct db db;
	struct db_node nodes[3];
};

static void tdb_init(struct tdb *t, const int *ports, size_t n, const char *const *names)
{
	memset(t, 0, sizeof *t);
	for (size_t i = 0; i < n; i++) {
		snprintf(t->nodes[i].name, sizeof t->nodes[i].name, "%s", names[i]);
		snprintf(t->nodes[i].listen_host, sizeof t->nodes[i].listen_host, "127.0.0.1");
		t->nodes[i].client_port = ports[i];
	}
	t->db.nodes = t->nodes;
	t->db.n = n;
}

static const char *const fake_names[] = {"a", "b", "c"};

static struct client *open_client(struct tdb *t, size_t node)
{
	const struct client_kind *k = client_find("raftnode");
	assert_ptr_equal(k, &client_raftnode);
	struct client *c = NULL;
	char err[256] = "";
	if (k->open(&c, &t->db, node, err, sizeof err))
		fail_msg("open: %s", err);
	return c;
}

static void invoke(struct client *c, enum op_f f, const char *key, int64_t value, int64_t expect,
		   bool collection, int64_t timeout_ns, struct client_res *res)
{
	struct client_req req = {.f = f,
				 .key = key,
				 .value = value,
				 .expect = expect,
				 .collection = collection,
				 .deadline = clock_mono_ns() + timeout_ns};
	client_raftnode.invoke(c, &req, res);
}

#define LONG (5000 * MS)

static void expect_type(const struct client_res *res, int type, const char *error_part)
{
	if (res->type != type)
		fail_msg("outcome %s (error '%s'), expected %s", htype_name(res->type), res->error,
			 htype_name(type));
	if (error_part && !strstr(res->error, error_part))
		fail_msg("error '%s' lacks '%s'", res->error, error_part);
}

static void test_find(void **state)
{
	assert_ptr_equal(client_find("raftnode"), &client_raftnode);
	assert_ptr_equal(client_find("etcd"), &client_etcd);
	assert_ptr_equal(client_find("redis-sentinel"), &client_redis_sentinel);
	assert_null(client_find("zookeeper"));
	assert_null(client_find(NULL));
	assert_ptr_equal(client_kinds[0], &client_raftnode);
	/* every db kind has its adapter, under the same name */
	size_t n = 0;
	for (; client_kinds[n]; n++) {
		assert_non_null(db_kind_find(client_kinds[n]->name));
		assert_ptr_equal(db_kinds[n], db_kind_find(client_kinds[n]->name));
	}
	assert_null(db_kinds[n]);
	struct tdb t;
	int ports[1] = {1};
	tdb_init(&t, ports, 1, fake_names);
	struct client *c = NULL;
	char err[128] = "";
	assert_int_equal(client_raftnode.open(&c, &t.db, 1, err, sizeof err), SB_EINVAL);
	assert_null(c);
}

/* Each operation's command, and how each reply is read. */
static void test_commands_and_values(void **state)
{
	struct fakesrv f;
	fakesrv_start(&f, FAKESRV_RESP);
	fakesrv_step(&f, FAKESRV_REPLY, "$-1\r\n");                     /* GET: absent */
	fakesrv_step(&f, FAKESRV_REPLY, "$2\r\n42\r\n");                /* GET: an int */
	fakesrv_step(&f, FAKESRV_REPLY, "$5\r\nhello\r\n");             /* GET: a string */
	fakesrv_step(&f, FAKESRV_REPLY, "$3\r\n-17\r\n");               /* GET: negative */
	fakesrv_step(&f, FAKESRV_REPLY, "$3\r\n007\r\n");               /* not canonical: a string */
	fakesrv_step(&f, FAKESRV_REPLY, "$19\r\n9223372036854775808\r\n"); /* too large: a string */
	fakesrv_step(&f, FAKESRV_REPLY, "*3\r\n$1\r\n1\r\n$2\r\n20\r\n$1\r\nx\r\n"); /* LRANGE */
	fakesrv_step(&f, FAKESRV_REPLY, "*0\r\n");                      /* LRANGE: empty */
	fakesrv_step(&f, FAKESRV_REPLY, "+OK\r\n");                     /* SET */
	fakesrv_step(&f, FAKESRV_REPLY, ":1\r\n");                      /* CAS swapped */
	fakesrv_step(&f, FAKESRV_REPLY, ":0\r\n");                      /* CAS mismatch */
	fakesrv_step(&f, FAKESRV_REPLY, ":3\r\n");                      /* RPUSH */
	struct tdb t;
	tdb_init(&t, &f.port, 1, fake_names);
	struct client *c = open_client(&t, 0);
	struct client_res res = {0};

	invoke(c, OP_READ, "k1", 0, 0, false, LONG, &res);
	expect_type(&res, HTYPE_OK, NULL);
	assert_true(res.has_value);
	assert_int_equal(res.value.kind, HVAL_NULL);
	assert_string_equal(res.node, "a");
	invoke(c, OP_READ, "k1", 0, 0, false, LONG, &res);
	assert_int_equal(res.value.kind, HVAL_INT);
	assert_int_equal(res.value.u.i, 42);
	invoke(c, OP_READ, "k1", 0, 0, false, LONG, &res);
	assert_int_equal(res.value.kind, HVAL_STR);
	assert_string_equal(res.value.u.s, "hello");
	assert_int_equal(res.value.len, 5);
	invoke(c, OP_READ, "k1", 0, 0, false, LONG, &res);
	assert_int_equal(res.value.kind, HVAL_INT);
	assert_int_equal(res.value.u.i, -17);
	invoke(c, OP_READ, "k1", 0, 0, false, LONG, &res);
	assert_int_equal(res.value.kind, HVAL_STR);
	assert_string_equal(res.value.u.s, "007");
	invoke(c, OP_READ, "k1", 0, 0, false, LONG, &res);
	assert_int_equal(res.value.kind, HVAL_STR);

	invoke(c, OP_READ, "k2", 0, 0, true, LONG, &res);
	expect_type(&res, HTYPE_OK, NULL);
	assert_int_equal(res.value.kind, HVAL_ARRAY);
	assert_int_equal(res.value.len, 3);
	assert_int_equal(res.value.u.items[0].kind, HVAL_INT);
	assert_int_equal(res.value.u.items[0].u.i, 1);
	assert_int_equal(res.value.u.items[1].u.i, 20);
	assert_int_equal(res.value.u.items[2].kind, HVAL_STR);
	assert_string_equal(res.value.u.items[2].u.s, "x");
	char json[64];
	hval_format(json, sizeof json, &res.value);
	assert_string_equal(json, "[1,20,\"x\"]");
	invoke(c, OP_READ, "k2", 0, 0, true, LONG, &res);
	assert_int_equal(res.value.kind, HVAL_ARRAY);
	assert_int_equal(res.value.len, 0);

	invoke(c, OP_WRITE, "k1", 5, 0, false, LONG, &res);
	expect_type(&res, HTYPE_OK, NULL);
	assert_false(res.has_value);
	invoke(c, OP_CAS, "k1", 6, 5, false, LONG, &res);
	expect_type(&res, HTYPE_OK, NULL);
	invoke(c, OP_CAS, "k1", 7, -6, false, LONG, &res);
	expect_type(&res, HTYPE_FAIL, NULL);
	assert_string_equal(res.error, "mismatch");
	invoke(c, OP_APPEND, "k2", 9, 0, false, LONG, &res);
	expect_type(&res, HTYPE_OK, NULL);

	client_raftnode.close(c);
	client_res_free(&res);
	fakesrv_stop(&f);
	assert_int_equal(f.conns, 1); /* one connection for everything */
	const char *want = "*2\r\n$3\r\nGET\r\n$2\r\nk1\r\n";
	for (int i = 0; i < 6; i++)
		assert_memory_equal(f.got + i * strlen(want), want, strlen(want));
	const char *rest = "*4\r\n$6\r\nLRANGE\r\n$2\r\nk2\r\n$1\r\n0\r\n$2\r\n-1\r\n"
			   "*4\r\n$6\r\nLRANGE\r\n$2\r\nk2\r\n$1\r\n0\r\n$2\r\n-1\r\n"
			   "*3\r\n$3\r\nSET\r\n$2\r\nk1\r\n$1\r\n5\r\n"
			   "*4\r\n$3\r\nCAS\r\n$2\r\nk1\r\n$1\r\n5\r\n$1\r\n6\r\n"
			   "*4\r\n$3\r\nCAS\r\n$2\r\nk1\r\n$2\r\n-6\r\n$1\r\n7\r\n"
			   "*3\r\n$5\r\nRPUSH\r\n$2\r\nk2\r\n$1\r\n9\r\n";
	assert_int_equal(f.got_len, 6 * strlen(want) + strlen(rest));
	assert_memory_equal(f.got + 6 * strlen(want), rest, strlen(rest));
}

/* Error replies: documented "not executed" ones fail, others are unknown (info; a read
 * fails); so is a reply that makes no sense for the command. */
static void test_error_replies(void **state)
{
	struct fakesrv f;
	fakesrv_start(&f, FAKESRV_RESP);
	fakesrv_step(&f, FAKESRV_REPLY, "-ERR unknown command 'SET'\r\n");
	fakesrv_step(&f, FAKESRV_REPLY, "-ERR wrong number of arguments for 'SET' command\r\n");
	fakesrv_step(&f, FAKESRV_REPLY, "-ERR Protocol error: request longer than 1048576 bytes\r\n");
	fakesrv_step(&f, FAKESRV_REPLY, "-ERR something else\r\n");
	fakesrv_step(&f, FAKESRV_REPLY, "-WRONGTYPE Operation against a key holding the wrong kind\r\n");
	fakesrv_step(&f, FAKESRV_REPLY, "-TIMEOUT leadership changed while the request was in flight\r\n");
	fakesrv_step(&f, FAKESRV_REPLY, "-TIMEOUT no reply within 5000 ms\r\n"); /* a read */
	fakesrv_step(&f, FAKESRV_REPLY, ":5\r\n");                              /* SET answered :5 */
	fakesrv_step(&f, FAKESRV_REPLY, "+OK\r\n");                             /* GET answered +OK */
	fakesrv_step(&f, FAKESRV_REPLY, "*1\r\n*0\r\n");                        /* LRANGE nested */
	fakesrv_step(&f, FAKESRV_REPLY, "-ERR request incomplete after 5000 ms\r\n");
	fakesrv_step(&f, FAKESRV_REPLY_CLOSE, "-ERR max number of clients reached\r\n");
	struct tdb t;
	tdb_init(&t, &f.port, 1, fake_names);
	struct client *c = open_client(&t, 0);
	struct client_res res = {0};
	invoke(c, OP_WRITE, "k", 1, 0, false, LONG, &res);
	expect_type(&res, HTYPE_FAIL, "ERR unknown command");
	invoke(c, OP_WRITE, "k", 2, 0, false, LONG, &res);
	expect_type(&res, HTYPE_FAIL, "wrong number");
	invoke(c, OP_WRITE, "k", 3, 0, false, LONG, &res);
	expect_type(&res, HTYPE_FAIL, "Protocol error");
	invoke(c, OP_WRITE, "k", 4, 0, false, LONG, &res);
	expect_type(&res, HTYPE_INFO, "ERR something else");
	invoke(c, OP_ADD, "k", 5, 0, false, LONG, &res);
	expect_type(&res, HTYPE_INFO, "WRONGTYPE");
	invoke(c, OP_CAS, "k", 6, 5, false, LONG, &res);
	expect_type(&res, HTYPE_INFO, "TIMEOUT leadership changed");
	invoke(c, OP_READ, "k", 0, 0, false, LONG, &res);
	expect_type(&res, HTYPE_FAIL, "TIMEOUT");
	assert_false(res.has_value);
	invoke(c, OP_WRITE, "k", 7, 0, false, LONG, &res);
	expect_type(&res, HTYPE_INFO, "unexpected reply");
	invoke(c, OP_READ, "k", 0, 0, false, LONG, &res);
	expect_type(&res, HTYPE_FAIL, "unexpected reply");
	invoke(c, OP_READ, "k", 0, 0, true, LONG, &res);
	expect_type(&res, HTYPE_FAIL, "unexpected reply");
	invoke(c, OP_APPEND, "k", 8, 0, false, LONG, &res);
	expect_type(&res, HTYPE_FAIL, "request incomplete");
	invoke(c, OP_WRITE, "k", 8, 0, false, LONG, &res);
	expect_type(&res, HTYPE_FAIL, "max number of clients");
	/* a request the client cannot make */
	invoke(c, OP_WRITE, NULL, 8, 0, false, LONG, &res);
	expect_type(&res, HTYPE_FAIL, "bad request");
	client_raftnode.close(c);
	client_res_free(&res);
	fakesrv_stop(&f);
}

/* -NOTLEADER id addr: followed; the client remembers the leader and starts there next time,
 * on the connection it kept. */
static void test_redirect(void **state)
{
	struct fakesrv a, b;
	fakesrv_start(&a, FAKESRV_RESP);
	fakesrv_start(&b, FAKESRV_RESP);
	fakesrv_step(&a, FAKESRV_REPLY, "-NOTLEADER b 127.0.0.1:%d\r\n", b.port);
	fakesrv_step(&b, FAKESRV_REPLY, "+OK\r\n");
	fakesrv_step(&b, FAKESRV_REPLY, "$1\r\n4\r\n");
	fakesrv_step(&b, FAKESRV_REPLY, ":1\r\n");
	int ports[2] = {a.port, b.port};
	struct tdb t;
	tdb_init(&t, ports, 2, fake_names);
	struct client *c = open_client(&t, 0);
	struct client_res res = {0};
	invoke(c, OP_WRITE, "k", 4, 0, false, LONG, &res);
	expect_type(&res, HTYPE_OK, NULL);
	assert_string_equal(res.node, "b");
	invoke(c, OP_READ, "k", 0, 0, false, LONG, &res);
	expect_type(&res, HTYPE_OK, NULL);
	assert_int_equal(res.value.u.i, 4);
	assert_string_equal(res.node, "b");
	invoke(c, OP_CAS, "k", 5, 4, false, LONG, &res);
	expect_type(&res, HTYPE_OK, NULL);
	client_raftnode.close(c);
	client_res_free(&res);
	fakesrv_stop(&a);
	fakesrv_stop(&b);
	/* the first operation started at the bound node, the others at the leader */
	assert_int_equal(a.requests, 1);
	assert_int_equal(b.requests, 3);
	assert_int_equal(a.conns, 1);
	assert_int_equal(b.conns, 1);
}

/* The remembered leader is left for the bound node whenever it cannot have taken the
 * request: refused (killed), or -NOTLEADER ? (deposed, no successor known); and after an
 * unknown outcome on it (paused, cut off), the next operation starts at the bound node. */
static void test_hint_fallback(void **state)
{
	struct fakesrv a, b, c3;
	fakesrv_start(&a, FAKESRV_RESP);
	fakesrv_start(&b, FAKESRV_RESP);
	fakesrv_start(&c3, FAKESRV_RESP);
	fakesrv_step(&a, FAKESRV_REPLY, "-NOTLEADER b 127.0.0.1:%d\r\n", b.port);
	fakesrv_step(&b, FAKESRV_REPLY, "+OK\r\n");
	fakesrv_step(&a, FAKESRV_REPLY, "-NOTLEADER c 127.0.0.1:%d\r\n", c3.port);
	fakesrv_step(&c3, FAKESRV_REPLY, "+OK\r\n");
	fakesrv_step(&c3, FAKESRV_REPLY, "-NOTLEADER ?\r\n");
	fakesrv_step(&a, FAKESRV_REPLY, "+OK\r\n");
	fakesrv_step(&a, FAKESRV_REPLY, "-NOTLEADER c 127.0.0.1:%d\r\n", c3.port);
	fakesrv_step(&c3, FAKESRV_SILENT, "%s", "");
	fakesrv_step(&a, FAKESRV_REPLY, "+OK\r\n");
	int ports[3] = {a.port, b.port, c3.port};
	struct tdb t;
	tdb_init(&t, ports, 3, fake_names);
	struct client *c = open_client(&t, 0);
	struct client_res res = {0};
	invoke(c, OP_WRITE, "k", 1, 0, false, LONG, &res);
	expect_type(&res, HTYPE_OK, NULL);
	assert_string_equal(res.node, "b");
	/* b dies: its kept connection is found closed, the reconnect refused, nothing sent */
	fakesrv_stop(&b);
	invoke(c, OP_WRITE, "k", 2, 0, false, LONG, &res);
	expect_type(&res, HTYPE_OK, NULL);
	assert_string_equal(res.node, "c");
	/* c is deposed and knows no leader: straight back to a, no pause */
	invoke(c, OP_WRITE, "k", 3, 0, false, LONG, &res);
	expect_type(&res, HTYPE_OK, NULL);
	assert_string_equal(res.node, "a");
	/* a sends us to c again, which never answers: unknown; then a again */
	invoke(c, OP_WRITE, "k", 4, 0, false, 200 * MS, &res);
	expect_type(&res, HTYPE_INFO, "timeout");
	assert_string_equal(res.node, "c");
	invoke(c, OP_WRITE, "k", 5, 0, false, LONG, &res);
	expect_type(&res, HTYPE_OK, NULL);
	assert_string_equal(res.node, "a");
	client_raftnode.close(c);
	client_res_free(&res);
	fakesrv_stop(&a);
	fakesrv_stop(&c3);
	assert_int_equal(a.requests, 5);
	assert_int_equal(b.requests, 1);
	assert_int_equal(c3.requests, 3);
}

/* Redirects that lead nowhere: to a closed port (nothing was executed: fail), or round in
 * a circle. */
static void test_redirect_failures(void **state)
{
	struct fakesrv a, b;
	fakesrv_start(&a, FAKESRV_RESP);
	fakesrv_start(&b, FAKESRV_RESP);
	int dead = fakesrv_free_port();
	fakesrv_step(&a, FAKESRV_REPLY, "-NOTLEADER z 127.0.0.1:%d\r\n", dead);
	for (int i = 0; i < 8; i++) {
		fakesrv_step(&a, FAKESRV_REPLY, "-NOTLEADER b 127.0.0.1:%d\r\n", b.port);
		fakesrv_step(&b, FAKESRV_REPLY, "-NOTLEADER a 127.0.0.1:%d\r\n", a.port);
	}
	int ports[2] = {a.port, b.port};
	struct tdb t;
	tdb_init(&t, ports, 2, fake_names);
	struct client *c = open_client(&t, 0);
	struct client_res res = {0};
	invoke(c, OP_WRITE, "k", 1, 0, false, LONG, &res);
	expect_type(&res, HTYPE_FAIL, "refused");
	assert_string_equal(res.node, "z");
	invoke(c, OP_WRITE, "k", 2, 0, false, LONG, &res);
	expect_type(&res, HTYPE_FAIL, "too many redirects");
	client_raftnode.close(c);
	client_res_free(&res);
	fakesrv_stop(&a);
	fakesrv_stop(&b);
	assert_int_equal(a.requests + b.requests, 1 + 9);
}

/* -NOTLEADER ?: asked again after a pause until the deadline, then fail. */
static void test_notleader_unknown(void **state)
{
	struct fakesrv a;
	fakesrv_start(&a, FAKESRV_RESP);
	fakesrv_step(&a, FAKESRV_REPLY, "-NOTLEADER ?\r\n");
	fakesrv_step(&a, FAKESRV_REPLY, "-NOTLEADER ?\r\n");
	fakesrv_step(&a, FAKESRV_REPLY, "+OK\r\n");
	for (int i = 0; i < 13; i++)
		fakesrv_step(&a, FAKESRV_REPLY, "-NOTLEADER ?\r\n");
	struct tdb t;
	tdb_init(&t, &a.port, 1, fake_names);
	struct client *c = open_client(&t, 0);
	struct client_res res = {0};
	invoke(c, OP_WRITE, "k", 1, 0, false, LONG, &res);
	expect_type(&res, HTYPE_OK, NULL);
	assert_int_equal(a.requests, 3);
	/* no leader for longer than the deadline */
	invoke(c, OP_WRITE, "k", 2, 0, false, 100 * MS, &res);
	expect_type(&res, HTYPE_FAIL, "not leader");
	assert_true(a.requests >= 4 && a.requests <= 3 + 13);
	client_raftnode.close(c);
	client_res_free(&res);
	fakesrv_stop(&a);
}

/* Nothing listens: fail, whatever the operation. */
static void test_refused(void **state)
{
	int port = fakesrv_free_port();
	struct tdb t;
	tdb_init(&t, &port, 1, fake_names);
	struct client *c = open_client(&t, 0); /* opening does not connect */
	struct client_res res = {0};
	enum op_f fs[] = {OP_READ, OP_WRITE, OP_CAS, OP_ADD};
	for (size_t i = 0; i < 4; i++) {
		invoke(c, fs[i], "k", 1, 0, false, LONG, &res);
		expect_type(&res, HTYPE_FAIL, "refused");
		assert_string_equal(res.node, "a");
	}
	client_raftnode.close(c);
	client_res_free(&res);
}

/* A server that takes the request and never answers: info at the deadline; a read fails. */
static void test_silent(void **state)
{
	struct fakesrv a;
	fakesrv_start(&a, FAKESRV_RESP);
	fakesrv_step(&a, FAKESRV_SILENT, "%s", "");
	fakesrv_step(&a, FAKESRV_SILENT, "%s", "");
	fakesrv_step(&a, FAKESRV_REPLY, "+OK\r\n");
	struct tdb t;
	tdb_init(&t, &a.port, 1, fake_names);
	struct client *c = open_client(&t, 0);
	struct client_res res = {0};
	invoke(c, OP_WRITE, "k", 1, 0, false, 150 * MS, &res);
	expect_type(&res, HTYPE_INFO, "timeout");
	invoke(c, OP_READ, "k", 0, 0, false, 150 * MS, &res);
	expect_type(&res, HTYPE_FAIL, "timeout");
	/* the timed-out connection is not reused: a late reply must not answer a later request */
	invoke(c, OP_WRITE, "k", 2, 0, false, LONG, &res);
	expect_type(&res, HTYPE_OK, NULL);
	client_raftnode.close(c);
	client_res_free(&res);
	fakesrv_stop(&a);
	assert_int_equal(a.conns, 3);
}

/* A server that closes the connection after reading the request: info; a read fails. */
static void test_closed_after_request(void **state)
{
	struct fakesrv a;
	fakesrv_start(&a, FAKESRV_RESP);
	fakesrv_step(&a, FAKESRV_CLOSE, "%s", "");
	fakesrv_step(&a, FAKESRV_CLOSE, "%s", "");
	fakesrv_step(&a, FAKESRV_CLOSE, "%s", "");
	struct tdb t;
	tdb_init(&t, &a.port, 1, fake_names);
	struct client *c = open_client(&t, 0);
	struct client_res res = {0};
	invoke(c, OP_APPEND, "k", 1, 0, false, LONG, &res);
	expect_type(&res, HTYPE_INFO, "closed");
	invoke(c, OP_CAS, "k", 2, 1, false, LONG, &res);
	expect_type(&res, HTYPE_INFO, "closed");
	invoke(c, OP_READ, "k", 0, 0, true, LONG, &res);
	expect_type(&res, HTYPE_FAIL, "closed");
	client_raftnode.close(c);
	client_res_free(&res);
	fakesrv_stop(&a);
}

/* A kept connection that the server closed while it was idle (a node restarted) is noticed
 * before the next request goes out: the client connects again, and the operation is not
 * made uncertain by a connection that was already gone. */
static void test_stale_connection(void **state)
{
	struct fakesrv a;
	fakesrv_start(&a, FAKESRV_RESP);
	fakesrv_step(&a, FAKESRV_REPLY_CLOSE, "+OK\r\n");
	fakesrv_step(&a, FAKESRV_REPLY, "+OK\r\n");
	struct tdb t;
	tdb_init(&t, &a.port, 1, fake_names);
	struct client *c = open_client(&t, 0);
	struct client_res res = {0};
	invoke(c, OP_WRITE, "k", 1, 0, false, LONG, &res);
	expect_type(&res, HTYPE_OK, NULL);
	/* wait until the server has closed its side */
	while (a.closed < 1)
		usleep(1000);
	invoke(c, OP_WRITE, "k", 2, 0, false, LONG, &res);
	expect_type(&res, HTYPE_OK, NULL);
	client_raftnode.close(c);
	client_res_free(&res);
	fakesrv_stop(&a);
	assert_int_equal(a.conns, 2);
	assert_int_equal(a.requests, 2);
}

/* ---- a real raftnode cluster ------------------------------------------------------------- */

struct cluster {
	char dir[64];
	int cport[3], pport[3];
	pid_t pid[3];
	struct tdb t;
};

static const char *const node_names[] = {"n1", "n2", "n3"};

static const char *raftnode_bin(void)
{
	const char *b = getenv("RAFTNODE");
	return b && *b ? b : "build/raftnode";
}

static void node_start(struct cluster *cl, int i)
{
	char peers[256], client[64], data[128], log[128];
	snprintf(peers, sizeof peers, "n1=127.0.0.1:%d,n2=127.0.0.1:%d,n3=127.0.0.1:%d",
		 cl->pport[0], cl->pport[1], cl->pport[2]);
	snprintf(client, sizeof client, "127.0.0.1:%d", cl->cport[i]);
	snprintf(data, sizeof data, "%s/d%d", cl->dir, i + 1);
	snprintf(log, sizeof log, "%s/n%d.log", cl->dir, i + 1);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(raftnode_bin(), "raftnode", "--id", node_names[i], "--peers", peers,
		      "--client", client, "--data", data, (char *)NULL);
		_exit(127);
	}
	cl->pid[i] = pid;
}

static void node_kill(struct cluster *cl, int i)
{
	if (cl->pid[i] <= 0)
		return;
	kill(cl->pid[i], SIGKILL);
	waitpid(cl->pid[i], NULL, 0);
	cl->pid[i] = 0;
}

/* The index of the node that calls itself leader, waiting up to 15 s; -1 if none. */
static int cluster_leader(struct cluster *cl)
{
	for (int tries = 0; tries < 300; tries++) {
		for (int i = 0; i < 3; i++) {
			if (cl->pid[i] <= 0)
				continue;
			struct resp_client *rc = NULL;
			if (resp_client_connect(&rc, "127.0.0.1", cl->cport[i], 200, NULL, 0))
				continue;
			const char *argv[] = {"INFO"};
			struct resp_value *v = NULL;
			char role[32] = "";
			if (resp_client_command(rc, 1, argv, NULL, &v, NULL, 0) == 0 &&
			    v->type == RESP_BULK)
				resp_info_field(v->str, v->len, "role", role, sizeof role);
			resp_value_free(v);
			resp_client_close(rc);
			if (strcmp(role, "leader") == 0)
				return i;
		}
		usleep(50000);
	}
	return -1;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int cluster_setup(void **state)
{
	if (access(raftnode_bin(), X_OK) != 0) {
		*state = NULL;
		return 0;
	}
	struct cluster *cl = calloc(1, sizeof *cl);
	assert_non_null(cl);
	snprintf(cl->dir, sizeof cl->dir, "/tmp/sb-client-test-XXXXXX");
	assert_non_null(mkdtemp(cl->dir));
	/* six distinct free ports, all bound at once so none repeats */
	int fds[6], ports[6];
	for (int i = 0; i < 6; i++)
		fds[i] = fakesrv_bind_any(&ports[i]);
	for (int i = 0; i < 6; i++)
		close(fds[i]);
	for (int i = 0; i < 3; i++) {
		cl->pport[i] = ports[2 * i];
		cl->cport[i] = ports[2 * i + 1];
	}
	for (int i = 0; i < 3; i++)
		node_start(cl, i);
	tdb_init(&cl->t, cl->cport, 3, node_names);
	*state = cl;
	return 0;
}

static int cluster_teardown(void **state)
{
	struct cluster *cl = *state;
	if (!cl)
		return 0;
	for (int i = 0; i < 3; i++) {
		if (cl->pid[i] > 0)
			kill(cl->pid[i], SIGCONT);
		node_kill(cl, i);
	}
	nftw(cl->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(cl);
	return 0;
}

/* Retry an operation until it is ok (a new leader may take a few elections). */
static void until_ok(struct client *c, enum op_f f, const char *key, int64_t value,
		     int64_t expect, bool collection, struct client_res *res)
{
	for (int i = 0; i < 100; i++) {
		invoke(c, f, key, value, expect, collection, 2000 * MS, res);
		if (res->type == HTYPE_OK)
			return;
		assert_int_equal(res->type, HTYPE_FAIL); /* nothing here may be uncertain */
		usleep(100000);
	}
	fail_msg("no ok within 100 tries: %s", res->error);
}

static void test_raftnode_cluster(void **state)
{
	struct cluster *cl = *state;
	if (!cl)
		skip();
	int leader = cluster_leader(cl);
	assert_true(leader >= 0);
	struct client *c[3];
	for (int i = 0; i < 3; i++)
		c[i] = open_client(&cl->t, (size_t)i);
	struct client_res res = {0};

	/* every node's client gets there: followers redirect to the leader */
	for (int i = 0; i < 3; i++) {
		char key[8];
		snprintf(key, sizeof key, "k%d", i);
		until_ok(c[i], OP_WRITE, key, 10 + i, 0, false, &res);
		assert_string_equal(res.node, node_names[leader]);
	}
	int f1 = (leader + 1) % 3;
	invoke(c[f1], OP_READ, "k1", 0, 0, false, LONG, &res);
	expect_type(&res, HTYPE_OK, NULL);
	assert_int_equal(res.value.kind, HVAL_INT);
	assert_int_equal(res.value.u.i, 11);
	invoke(c[f1], OP_READ, "absent", 0, 0, false, LONG, &res);
	expect_type(&res, HTYPE_OK, NULL);
	assert_true(res.has_value);
	assert_int_equal(res.value.kind, HVAL_NULL);
	invoke(c[f1], OP_CAS, "k1", 12, 99, false, LONG, &res);
	expect_type(&res, HTYPE_FAIL, NULL);
	assert_string_equal(res.error, "mismatch");
	invoke(c[f1], OP_CAS, "k1", 12, 11, false, LONG, &res);
	expect_type(&res, HTYPE_OK, NULL);
	invoke(c[leader], OP_READ, "k1", 0, 0, false, LONG, &res);
	assert_int_equal(res.value.u.i, 12);
	for (int v = 1; v <= 3; v++) {
		invoke(c[(leader + v) % 3], OP_APPEND, "l", v, 0, false, LONG, &res);
		expect_type(&res, HTYPE_OK, NULL);
	}
	invoke(c[f1], OP_READ, "l", 0, 0, true, LONG, &res);
	expect_type(&res, HTYPE_OK, NULL);
	char json[64];
	hval_format(json, sizeof json, &res.value);
	assert_string_equal(json, "[1,2,3]");
	invoke(c[f1], OP_READ, "nolist", 0, 0, true, LONG, &res);
	expect_type(&res, HTYPE_OK, NULL);
	assert_int_equal(res.value.kind, HVAL_ARRAY);
	assert_int_equal(res.value.len, 0);
	/* a value that is not a number, written by someone else */
	struct resp_client *rc = NULL;
	assert_int_equal(resp_client_connect(&rc, "127.0.0.1", cl->cport[leader], 2000, NULL, 0), 0);
	const char *argv[] = {"SET", "s", "hello world"};
	struct resp_value *v = NULL;
	assert_int_equal(resp_client_command(rc, 3, argv, NULL, &v, NULL, 0), 0);
	assert_int_equal(v->type, RESP_SIMPLE);
	resp_value_free(v);
	resp_client_close(rc);
	invoke(c[f1], OP_READ, "s", 0, 0, false, LONG, &res);
	expect_type(&res, HTYPE_OK, NULL);
	assert_int_equal(res.value.kind, HVAL_STR);
	assert_string_equal(res.value.u.s, "hello world");

	/* pause the leader: a write through it is uncertain at the deadline, a read fails */
	kill(cl->pid[leader], SIGSTOP);
	invoke(c[leader], OP_WRITE, "k0", 20, 0, false, 300 * MS, &res);
	expect_type(&res, HTYPE_INFO, "timeout");
	invoke(c[leader], OP_READ, "k0", 0, 0, false, 300 * MS, &res);
	expect_type(&res, HTYPE_FAIL, "timeout");
	kill(cl->pid[leader], SIGCONT);

	/* kill the leader: its clients' kept connections are found closed and the reconnect
	 * is refused: fail, never info; the others reach a new leader */
	leader = cluster_leader(cl);
	assert_true(leader >= 0);
	until_ok(c[leader], OP_WRITE, "k0", 21, 0, false, &res);
	node_kill(cl, leader);
	usleep(50000);
	for (int i = 0; i < 3; i++) {
		invoke(c[leader], (enum op_f)i, "k0", 22, 21, false, LONG, &res);
		expect_type(&res, HTYPE_FAIL, "refused");
	}
	int other = (leader + 1) % 3;
	until_ok(c[other], OP_WRITE, "k0", 23, 0, false, &res);
	assert_string_not_equal(res.node, node_names[leader]);
	invoke(c[(leader + 2) % 3], OP_READ, "k0", 0, 0, false, LONG, &res);
	expect_type(&res, HTYPE_OK, NULL);
	assert_int_equal(res.value.u.i, 23);
	for (int i = 0; i < 3; i++)
		client_raftnode.close(c[i]);
	client_res_free(&res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_commands_and_values),
		cmocka_unit_test(test_error_replies),
		cmocka_unit_test(test_redirect),
		cmocka_unit_test(test_hint_fallback),
		cmocka_unit_test(test_redirect_failures),
		cmocka_unit_test(test_notleader_unknown),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_silent),
		cmocka_unit_test(test_closed_after_request),
		cmocka_unit_test(test_stale_connection),
		cmocka_unit_test_setup_teardown(test_raftnode_cluster, cluster_setup,
						cluster_teardown),
	};
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
