/* Tests for harness/client/redis.c (client_redis_sentinel): the commands it sends, and the
 * classification of replies into ok / fail / info, against a scripted fake Sentinel and fake
 * Redis servers on loopback: a master found through the Sentinel, a failover followed after
 * READONLY, a Sentinel that does not answer, a master that refuses, stays silent or closes
 * after the request, error replies that mean "not executed" and those that do not. No
 * assertion depends on how long anything took. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness/client/client.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "tests/support/fakesrv.h"

#define MS CLOCK_NS_PER_MS
#define LONG (5000 * MS)

static void expect_type(const struct client_res *res, int type, const char *error_part)
{
	if (res->type != type)
		fail_msg("outcome %s (error '%s'), expected %s", htype_name(res->type), res->error,
			 htype_name(type));
	if (error_part && !strstr(res->error, error_part))
		fail_msg("error '%s' lacks '%s'", res->error, error_part);
}

/* Two nodes on loopback: r1 (its Sentinel s) and r2. */
struct tdb {
	struct db db;
	struct db_node nodes[2];
};

static void tdb_init(struct tdb *t, int r1, int sentinel, int r2)
{
	memset(t, 0, sizeof *t);
	const char *names[] = {"r1", "r2"};
	int ports[] = {r1, r2};
	for (size_t i = 0; i < 2; i++) {
		snprintf(t->nodes[i].name, sizeof t->nodes[i].name, "%s", names[i]);
		snprintf(t->nodes[i].listen_host, sizeof t->nodes[i].listen_host, "127.0.0.1");
		t->nodes[i].client_port = ports[i];
		t->nodes[i].peer_port = i == 0 ? sentinel : fakesrv_free_port();
	}
	t->db.nodes = t->nodes;
	t->db.n = 2;
}

/* The Sentinel's answer naming the master at port. */
static void sentinel_names(struct fakesrv *s, int port)
{
	char p[16];
	snprintf(p, sizeof p, "%d", port);
	fakesrv_step(s, FAKESRV_REPLY, "*2\r\n$9\r\n127.0.0.1\r\n$%zu\r\n%s\r\n", strlen(p), p);
}

static struct client *open_client(struct tdb *t)
{
	const struct client_kind *k = client_find("redis-sentinel");
	assert_ptr_equal(k, &client_redis_sentinel);
	struct client *c = NULL;
	char err[256] = "";
	if (k->open(&c, &t->db, 0, err, sizeof err))
		fail_msg("open: %s", err);
	return c;
}

static void invoke(struct client *c, enum op_f f, int64_t value, bool collection,
		   int64_t timeout_ns, struct client_res *res)
{
	struct client_req req = {.f = f, .key = "k1", .value = value, .expect = value - 1,
				 .collection = collection, .deadline = clock_mono_ns() + timeout_ns};
	client_redis_sentinel.invoke(c, &req, res);
}

static bool got(struct fakesrv *f, const char *what)
{
	f->got[f->got_len < sizeof f->got ? f->got_len : sizeof f->got - 1] = '\0';
	return strstr(f->got, what) != NULL;
}

static void test_commands_and_values(void **state)
{
	struct fakesrv s, r;
	fakesrv_start(&s, FAKESRV_RESP);
	fakesrv_start(&r, FAKESRV_RESP);
	sentinel_names(&s, r.port);
	fakesrv_step(&r, FAKESRV_REPLY, ":1\r\n");                          /* SADD */
	fakesrv_step(&r, FAKESRV_REPLY, "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\nx\r\n"); /* SMEMBERS */
	fakesrv_step(&r, FAKESRV_REPLY, "*0\r\n");                          /* SMEMBERS, empty */
	fakesrv_step(&r, FAKESRV_REPLY, "+OK\r\n");                         /* SET */
	fakesrv_step(&r, FAKESRV_REPLY, "$2\r\n12\r\n");                    /* GET */
	fakesrv_step(&r, FAKESRV_REPLY, "$-1\r\n");                         /* GET, absent */
	fakesrv_step(&r, FAKESRV_REPLY, ":1\r\n");                          /* EVAL: swapped */
	fakesrv_step(&r, FAKESRV_REPLY, ":0\r\n");                          /* EVAL: differed */
	fakesrv_step(&r, FAKESRV_REPLY, "+QUEUED\r\n");                     /* SET: nonsense */
	struct tdb t;
	tdb_init(&t, r.port, s.port, fakesrv_free_port());
	struct client *c = open_client(&t);
	struct client_res res = {0};
	char v[128];

	invoke(c, OP_ADD, 7, false, LONG, &res);
	expect_type(&res, HTYPE_OK, NULL);
	assert_string_equal(res.node, "r1");
	invoke(c, OP_READ, 0, true, LONG, &res);
	expect_type(&res, HTYPE_OK, NULL);
	hval_format(v, sizeof v, &res.value);
	assert_string_equal(v, "[1,2,\"x\"]");
	invoke(c, OP_READ, 0, true, LONG, &res);
	expect_type(&res, HTYPE_OK, NULL);
	hval_format(v, sizeof v, &res.value);
	assert_string_equal(v, "[]");
	invoke(c, OP_WRITE, 12, false, LONG, &res);
	expect_type(&res, HTYPE_OK, NULL);
	invoke(c, OP_READ, 0, false, LONG, &res);
	expect_type(&res, HTYPE_OK, NULL);
	assert_int_equal(res.value.kind, HVAL_INT);
	assert_int_equal(res.value.u.i, 12);
	invoke(c, OP_READ, 0, false, LONG, &res);
	expect_type(&res, HTYPE_OK, NULL);
	assert_true(res.has_value);
	assert_int_equal(res.value.kind, HVAL_NULL);
	invoke(c, OP_CAS, 13, false, LONG, &res);
	expect_type(&res, HTYPE_OK, NULL);
	invoke(c, OP_CAS, 14, false, LONG, &res);
	expect_type(&res, HTYPE_FAIL, "mismatch");
	invoke(c, OP_WRITE, 15, false, LONG, &res);
	expect_type(&res, HTYPE_INFO, "unexpected reply");
	client_redis_sentinel.close(c);
	fakesrv_stop(&s);
	fakesrv_stop(&r);

	assert_true(got(&s, "*3\r\n$8\r\nSENTINEL\r\n$23\r\nget-master-addr-by-name\r\n$10\r\nsplitbrain\r\n"));
	assert_int_equal(s.requests, 1); /* within a second the Sentinel's answer is reused */
	assert_true(got(&r, "*3\r\n$4\r\nSADD\r\n$2\r\nk1\r\n$1\r\n7\r\n"));
	assert_true(got(&r, "*2\r\n$8\r\nSMEMBERS\r\n$2\r\nk1\r\n"));
	assert_true(got(&r, "*3\r\n$3\r\nSET\r\n$2\r\nk1\r\n$2\r\n12\r\n"));
	assert_true(got(&r, "*2\r\n$3\r\nGET\r\n$2\r\nk1\r\n"));
	assert_true(got(&r, "$4\r\nEVAL\r\n"));
	assert_true(got(&r, "redis.call('get', KEYS[1]) == ARGV[1]"));
	assert_true(got(&r, "$1\r\n1\r\n$2\r\nk1\r\n$2\r\n12\r\n$2\r\n13\r\n"));
	assert_int_equal(r.conns, 1);
	client_res_free(&res);
}

static void test_error_replies(void **state)
{
	struct fakesrv s, r;
	fakesrv_start(&s, FAKESRV_RESP);
	fakesrv_start(&r, FAKESRV_RESP);
	sentinel_names(&s, r.port);
	static const struct {
		const char *reply;
		enum op_f f;
		int type;
	} cases[] = {
		{"-LOADING Redis is loading the dataset in memory\r\n", OP_WRITE, HTYPE_FAIL},
		{"-MASTERDOWN Link with MASTER is down\r\n", OP_ADD, HTYPE_FAIL},
		{"-NOREPLICAS Not enough good replicas to write.\r\n", OP_WRITE, HTYPE_FAIL},
		{"-BUSY Redis is busy running a script.\r\n", OP_CAS, HTYPE_FAIL},
		{"-ERR unknown command 'SADD'\r\n", OP_ADD, HTYPE_FAIL},
		{"-ERR Error running script: @user_script:1: oops\r\n", OP_CAS, HTYPE_INFO},
		{"-OOM command not allowed when used memory > 'maxmemory'.\r\n", OP_WRITE, HTYPE_INFO},
		{"-ERR something else\r\n", OP_READ, HTYPE_FAIL}, /* a read is never info */
	};
	size_t n = sizeof cases / sizeof cases[0];
	for (size_t i = 0; i < n; i++)
		fakesrv_step(&r, FAKESRV_REPLY, "%s", cases[i].reply);
	struct tdb t;
	tdb_init(&t, r.port, s.port, fakesrv_free_port());
	struct client *c = open_client(&t);
	struct client_res res = {0};
	for (size_t i = 0; i < n; i++) {
		invoke(c, cases[i].f, 3, false, LONG, &res);
		char word[16];
		sscanf(cases[i].reply + 1, "%15s", word);
		if (res.type != cases[i].type || !strstr(res.error, word))
			fail_msg("%s: %s '%s'", cases[i].reply, htype_name(res.type), res.error);
	}
	client_redis_sentinel.close(c);
	fakesrv_stop(&s);
	fakesrv_stop(&r);
	client_res_free(&res);
}

/* READONLY: the server is a replica now; the Sentinel names the new master, and the
 * operation is done there within its deadline. */
static void test_failover_followed(void **state)
{
	struct fakesrv s, r1, r2;
	fakesrv_start(&s, FAKESRV_RESP);
	fakesrv_start(&r1, FAKESRV_RESP);
	fakesrv_start(&r2, FAKESRV_RESP);
	sentinel_names(&s, r1.port);
	sentinel_names(&s, r2.port);
	fakesrv_step(&r1, FAKESRV_REPLY, "-READONLY You can't write against a read only replica.\r\n");
	fakesrv_step(&r2, FAKESRV_REPLY, ":1\r\n");
	struct tdb t;
	tdb_init(&t, r1.port, s.port, r2.port);
	struct client *c = open_client(&t);
	struct client_res res = {0};
	invoke(c, OP_ADD, 1, false, LONG, &res);
	expect_type(&res, HTYPE_OK, NULL);
	assert_string_equal(res.node, "r2");
	client_redis_sentinel.close(c);
	fakesrv_stop(&s);
	fakesrv_stop(&r1);
	fakesrv_stop(&r2);
	assert_int_equal(s.requests, 2);
	assert_int_equal(r1.requests, 1);
	assert_int_equal(r2.requests, 1);
	client_res_free(&res);
}

/* READONLY on every try (the Sentinel keeps naming the replica): fail, after 3 tries. */
static void test_readonly_stays(void **state)
{
	struct fakesrv s, r;
	fakesrv_start(&s, FAKESRV_RESP);
	fakesrv_start(&r, FAKESRV_RESP);
	sentinel_names(&s, r.port);
	fakesrv_step(&r, FAKESRV_REPLY, "-READONLY You can't write against a read only replica.\r\n");
	struct tdb t;
	tdb_init(&t, r.port, s.port, fakesrv_free_port());
	struct client *c = open_client(&t);
	struct client_res res = {0};
	invoke(c, OP_WRITE, 1, false, LONG, &res);
	expect_type(&res, HTYPE_FAIL, "READONLY");
	client_redis_sentinel.close(c);
	fakesrv_stop(&s);
	fakesrv_stop(&r);
	assert_int_equal(r.requests, 3);
	client_res_free(&res);
}

static void test_no_master(void **state)
{
	struct fakesrv s;
	fakesrv_start(&s, FAKESRV_RESP);
	fakesrv_step(&s, FAKESRV_REPLY, "*-1\r\n"); /* knows no such master */
	struct tdb t;
	tdb_init(&t, fakesrv_free_port(), s.port, fakesrv_free_port());
	struct client *c = open_client(&t);
	struct client_res res = {0};
	invoke(c, OP_WRITE, 1, false, LONG, &res);
	expect_type(&res, HTYPE_FAIL, "no master known");
	client_redis_sentinel.close(c);
	fakesrv_stop(&s);
	/* A Sentinel that does not answer at all. */
	tdb_init(&t, fakesrv_free_port(), fakesrv_free_port(), fakesrv_free_port());
	c = open_client(&t);
	invoke(c, OP_ADD, 1, false, LONG, &res);
	expect_type(&res, HTYPE_FAIL, "no master known");
	client_redis_sentinel.close(c);
	client_res_free(&res);
}

/* The master refuses (killed): nothing was sent, fail; silent (paused): info, a read fail;
 * closed after the request: info. */
static void test_master_down(void **state)
{
	struct fakesrv s, r;
	fakesrv_start(&s, FAKESRV_RESP);
	int dead = fakesrv_free_port();
	sentinel_names(&s, dead);
	struct tdb t;
	tdb_init(&t, dead, s.port, fakesrv_free_port());
	struct client *c = open_client(&t);
	struct client_res res = {0};
	invoke(c, OP_WRITE, 1, false, LONG, &res);
	expect_type(&res, HTYPE_FAIL, NULL);
	client_redis_sentinel.close(c);
	fakesrv_stop(&s);

	fakesrv_start(&s, FAKESRV_RESP);
	fakesrv_start(&r, FAKESRV_RESP);
	sentinel_names(&s, r.port);
	fakesrv_step(&r, FAKESRV_SILENT, "x");
	fakesrv_step(&r, FAKESRV_SILENT, "x");
	fakesrv_step(&r, FAKESRV_CLOSE, "x");
	fakesrv_step(&r, FAKESRV_REPLY, ":1\r\n");
	tdb_init(&t, r.port, s.port, fakesrv_free_port());
	c = open_client(&t);
	invoke(c, OP_ADD, 1, false, 300 * MS, &res);
	expect_type(&res, HTYPE_INFO, "timeout");
	invoke(c, OP_READ, 0, true, 300 * MS, &res);
	expect_type(&res, HTYPE_FAIL, "timeout");
	invoke(c, OP_CAS, 2, false, LONG, &res);
	expect_type(&res, HTYPE_INFO, NULL);
	invoke(c, OP_ADD, 3, false, LONG, &res); /* a fresh connection works */
	expect_type(&res, HTYPE_OK, NULL);
	client_redis_sentinel.close(c);
	fakesrv_stop(&s);
	fakesrv_stop(&r);
	client_res_free(&res);
}

static void test_bad_requests(void **state)
{
	struct tdb t;
	tdb_init(&t, fakesrv_free_port(), fakesrv_free_port(), fakesrv_free_port());
	struct client *c = open_client(&t);
	struct client_res res = {0};
	invoke(c, OP_APPEND, 1, false, LONG, &res);
	expect_type(&res, HTYPE_FAIL, "bad request");
	client_redis_sentinel.close(c);
	client_res_free(&res);
	struct client *c2 = NULL;
	char err[128];
	assert_int_equal(client_redis_sentinel.open(&c2, &t.db, 2, err, sizeof err), SB_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commands_and_values),
		cmocka_unit_test(test_error_replies),
		cmocka_unit_test(test_failover_followed),
		cmocka_unit_test(test_readonly_stays),
		cmocka_unit_test(test_no_master),
		cmocka_unit_test(test_master_down),
		cmocka_unit_test(test_bad_requests),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
