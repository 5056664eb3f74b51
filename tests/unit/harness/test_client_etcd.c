/* Tests for harness/client/etcd.c and http.c: the gateway requests (paths, JSON, base64),
 * the classification of answers into ok / fail / info, and the adapter against scripted
 * fake HTTP servers on loopback (refused, silent, closed after the request, a kept
 * connection reused, a member that dies with the request in hand while curl retries on a
 * fresh connection). No assertion depends on how long anything took. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness/client/client.h"
#include "harness/client/etcd.h"
#include "harness/client/http.h"
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

/* ---- pure parts -------------------------------------------------------------------------- */

static void test_base64(void **state)
{
	char out[64];
	unsigned char back[64];
	static const char *const cases[][2] = {{"", ""},        {"k", "aw=="},     {"k3", "azM="},
					       {"k10", "azEw"}, {"-12", "LTEy"},  {"12345", "MTIzNDU="}};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_int_equal(http_base64_encode(cases[i][0], strlen(cases[i][0]), out, sizeof out),
				 (long)strlen(cases[i][1]));
		assert_string_equal(out, cases[i][1]);
		long n = http_base64_decode(cases[i][1], strlen(cases[i][1]), back, sizeof back);
		assert_int_equal(n, (long)strlen(cases[i][0]));
		assert_memory_equal(back, cases[i][0], (size_t)n);
	}
	assert_int_equal(http_base64_encode("abc", 3, out, 4), -1); /* no room for the NUL */
	static const char *const bad[] = {"a", "ab=c", "a===", "*AAA", "AA=A", "AAA=AAAA"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (http_base64_decode(bad[i], strlen(bad[i]), back, sizeof back) != -1)
			fail_msg("'%s' decoded", bad[i]);
	assert_int_equal(http_base64_decode("MTIzNDU=", 8, back, 4), -1); /* short buffer */
}

static void test_requests(void **state)
{
	char body[ETCD_BODY_MAX];
	const char *path = NULL;
	struct client_req r = {.f = OP_READ, .key = "k3"};
	assert_int_equal(etcd_request(&r, &path, body, sizeof body), 0);
	assert_string_equal(path, "/v3/kv/range");
	assert_string_equal(body, "{\"key\":\"azM=\"}");
	r = (struct client_req){.f = OP_WRITE, .key = "k3", .value = 5};
	assert_int_equal(etcd_request(&r, &path, body, sizeof body), 0);
	assert_string_equal(path, "/v3/kv/put");
	assert_string_equal(body, "{\"key\":\"azM=\",\"value\":\"NQ==\"}");
	r = (struct client_req){.f = OP_CAS, .key = "k3", .expect = 5, .value = -12};
	assert_int_equal(etcd_request(&r, &path, body, sizeof body), 0);
	assert_string_equal(path, "/v3/kv/txn");
	assert_string_equal(body, "{\"compare\":[{\"key\":\"azM=\",\"result\":\"EQUAL\","
				  "\"target\":\"VALUE\",\"value\":\"NQ==\"}],\"success\":"
				  "[{\"request_put\":{\"key\":\"azM=\",\"value\":\"LTEy\"}}]}");
	/* What the adapter does not make, and what does not fit. */
	r = (struct client_req){.f = OP_ADD, .key = "k3", .value = 1};
	assert_int_equal(etcd_request(&r, &path, body, sizeof body), SB_EINVAL);
	r = (struct client_req){.f = OP_READ, .key = "k3", .collection = true};
	assert_int_equal(etcd_request(&r, &path, body, sizeof body), SB_EINVAL);
	r = (struct client_req){.f = OP_READ, .key = NULL};
	assert_int_equal(etcd_request(&r, &path, body, sizeof body), SB_EINVAL);
	char longkey[300];
	memset(longkey, 'k', sizeof longkey - 1);
	longkey[sizeof longkey - 1] = '\0';
	r = (struct client_req){.f = OP_READ, .key = longkey};
	assert_int_equal(etcd_request(&r, &path, body, sizeof body), SB_EINVAL);
	r = (struct client_req){.f = OP_WRITE, .key = "k3", .value = 5};
	assert_int_equal(etcd_request(&r, &path, body, 10), SB_ELIMIT);
}

struct ocase {
	enum op_f f;
	long status;
	const char *body;
	int type;
	const char *error; /* part of the error, or the value read ("null", "7", "\"x\"") */
};

static void test_outcomes(void **state)
{
	static const struct ocase cases[] = {
		/* reads */
		{OP_READ, 200, "{\"header\":{},\"kvs\":[{\"key\":\"azM=\",\"value\":\"Nw==\"}],\"count\":\"1\"}",
		 HTYPE_OK, "7"},
		{OP_READ, 200, "{\"header\":{\"revision\":\"2\"}}", HTYPE_OK, "null"},
		{OP_READ, 200, "{\"header\":{},\"kvs\":[]}", HTYPE_OK, "null"},
		{OP_READ, 200, "{\"kvs\":[{\"key\":\"azM=\",\"value\":\"eA==\"}]}", HTYPE_OK, "\"x\""},
		{OP_READ, 200, "{\"kvs\":[{\"key\":\"azM=\"}]}", HTYPE_OK, "\"\""},
		{OP_READ, 200, "{\"kvs\":[{\"value\":\"!!\"}]}", HTYPE_FAIL, "unreadable"},
		{OP_READ, 200, "not json", HTYPE_FAIL, "unreadable"},
		{OP_READ, 503, "{\"error\":\"etcdserver: leader changed\",\"code\":14}", HTYPE_FAIL,
		 "503 etcdserver: leader changed"},
		{OP_READ, 503, "{\"message\":\"etcdserver: request timed out\"}", HTYPE_FAIL,
		 "timed out"},
		/* writes */
		{OP_WRITE, 200, "{\"header\":{\"revision\":\"3\"}}", HTYPE_OK, NULL},
		{OP_WRITE, 200, "", HTYPE_OK, NULL},
		{OP_WRITE, 503, "{\"error\":\"etcdserver: request timed out\",\"code\":14}", HTYPE_INFO,
		 "request timed out"},
		{OP_WRITE, 503,
		 "{\"error\":\"etcdserver: request timed out, possibly due to previous leader "
		 "failure\"}",
		 HTYPE_INFO, "previous leader"},
		{OP_WRITE, 503, "{\"error\":\"etcdserver: no leader\",\"code\":14}", HTYPE_FAIL,
		 "no leader"},
		{OP_WRITE, 500, "{\"error\":\"raft proposal dropped\",\"code\":2}", HTYPE_FAIL,
		 "proposal dropped"},
		{OP_WRITE, 429, "{\"error\":\"etcdserver: too many requests\"}", HTYPE_FAIL, "429"},
		{OP_WRITE, 400, "{\"error\":\"illegal base64 data at input byte 0\"}", HTYPE_FAIL,
		 "illegal base64"},
		{OP_WRITE, 500, "{\"error\":\"something odd\"}", HTYPE_INFO, "500 something odd"},
		{OP_WRITE, 504, "gateway timeout", HTYPE_INFO, "504 gateway timeout"},
		{OP_WRITE, 408, "{}", HTYPE_INFO, "408"},
		/* compare-and-set */
		{OP_CAS, 200, "{\"header\":{},\"succeeded\":true,\"responses\":[{}]}", HTYPE_OK, NULL},
		{OP_CAS, 200, "{\"header\":{\"revision\":\"3\"}}", HTYPE_FAIL, "mismatch"},
		{OP_CAS, 200, "{\"succeeded\":false}", HTYPE_FAIL, "mismatch"},
		{OP_CAS, 200, "{\"succeeded\":\"yes\"}", HTYPE_INFO, "unreadable"},
		{OP_CAS, 200, "", HTYPE_INFO, "unreadable"},
		{OP_CAS, 503, "{\"error\":\"etcdserver: leader changed\"}", HTYPE_INFO, "leader changed"},
	};
	struct client_res res = {0};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct ocase *c = &cases[i];
		struct client_req req = {.f = c->f, .key = "k3", .value = 2, .expect = 1};
		client_res_clear(&res);
		etcd_outcome(&req, c->status, c->body, strlen(c->body), &res);
		if (res.type != c->type)
			fail_msg("case %zu (%ld %s): %s '%s', want %s", i, c->status, c->body,
				 htype_name(res.type), res.error, htype_name(c->type));
		if (c->type == HTYPE_OK && c->f == OP_READ) {
			char v[64];
			assert_true(res.has_value);
			hval_format(v, sizeof v, &res.value);
			if (strcmp(v, c->error))
				fail_msg("case %zu: read %s, want %s", i, v, c->error);
		} else if (c->error && !strstr(res.error, c->error)) {
			fail_msg("case %zu: error '%s' lacks '%s'", i, res.error, c->error);
		}
	}
	/* No response: nothing sent is fail, anything sent is info (a read: fail). */
	struct client_req w = {.f = OP_WRITE, .key = "k"}, r = {.f = OP_READ, .key = "k"};
	client_res_clear(&res);
	etcd_no_response(&w, false, false, "Couldn't connect to server", &res);
	expect_type(&res, HTYPE_FAIL, "connect");
	etcd_no_response(&w, true, true, "Operation timed out", &res);
	expect_type(&res, HTYPE_INFO, "timeout");
	etcd_no_response(&w, true, false, "Recv failure", &res);
	expect_type(&res, HTYPE_INFO, "Recv failure");
	etcd_no_response(&r, true, true, "Operation timed out", &res);
	expect_type(&res, HTYPE_FAIL, "timeout");
	client_res_free(&res);
}

static void test_json_helpers(void **state)
{
	struct hval *doc = NULL;
	char err[128];
	const char *text = "{\"leader\":\"13668033151171901709\",\"raftTerm\":\"2\",\"n\":5,"
			   "\"neg\":-1,\"big\":\"99999999999999999999\",\"x\":\"1a\"}";
	assert_int_equal(hval_parse_json(text, strlen(text), &doc, err, sizeof err), 0);
	unsigned long long v = 0;
	assert_int_equal(etcd_json_u64(etcd_json_field(doc, "leader"), &v), 0);
	assert_true(v == 13668033151171901709ULL);
	assert_int_equal(etcd_json_u64(etcd_json_field(doc, "raftTerm"), &v), 0);
	assert_true(v == 2);
	assert_int_equal(etcd_json_u64(etcd_json_field(doc, "n"), &v), 0);
	assert_true(v == 5);
	assert_int_equal(etcd_json_u64(etcd_json_field(doc, "neg"), &v), SB_EINVAL);
	assert_int_equal(etcd_json_u64(etcd_json_field(doc, "big"), &v), SB_EINVAL);
	assert_int_equal(etcd_json_u64(etcd_json_field(doc, "x"), &v), SB_EINVAL);
	assert_int_equal(etcd_json_u64(etcd_json_field(doc, "absent"), &v), SB_EINVAL);
	assert_null(etcd_json_field(NULL, "x"));
	hval_free(doc);
}

/* ---- the adapter against fake members ---------------------------------------------------- */

struct tdb {
	struct db db;
	struct db_node nodes[2];
};

static void tdb_init(struct tdb *t, int port)
{
	memset(t, 0, sizeof *t);
	snprintf(t->nodes[0].name, sizeof t->nodes[0].name, "e1");
	snprintf(t->nodes[0].listen_host, sizeof t->nodes[0].listen_host, "127.0.0.1");
	t->nodes[0].client_port = port;
	t->db.nodes = t->nodes;
	t->db.n = 1;
}

static struct client *open_client(struct tdb *t)
{
	const struct client_kind *k = client_find("etcd");
	assert_ptr_equal(k, &client_etcd);
	struct client *c = NULL;
	char err[256] = "";
	if (k->open(&c, &t->db, 0, err, sizeof err))
		fail_msg("open: %s", err);
	return c;
}

static void invoke(struct client *c, enum op_f f, int64_t value, int64_t timeout_ns,
		   struct client_res *res)
{
	struct client_req req = {.f = f, .key = "k3", .value = value, .expect = value - 1,
				 .deadline = clock_mono_ns() + timeout_ns};
	client_etcd.invoke(c, &req, res);
}

static void test_adapter_ok_and_reuse(void **state)
{
	struct fakesrv f;
	fakesrv_start(&f, FAKESRV_HTTP);
	fakesrv_http(&f, 200, "{\"header\":{}}");
	fakesrv_http(&f, 200, "{\"kvs\":[{\"key\":\"azM=\",\"value\":\"NQ==\"}]}");
	fakesrv_http(&f, 200, "{\"succeeded\":true}");
	fakesrv_http(&f, 200, "{}");
	struct tdb t;
	tdb_init(&t, f.port);
	struct client *c = open_client(&t);
	struct client_res res = {0};
	invoke(c, OP_WRITE, 5, LONG, &res);
	expect_type(&res, HTYPE_OK, NULL);
	assert_string_equal(res.node, "e1");
	invoke(c, OP_READ, 0, LONG, &res);
	expect_type(&res, HTYPE_OK, NULL);
	assert_int_equal(res.value.kind, HVAL_INT);
	assert_int_equal(res.value.u.i, 5);
	invoke(c, OP_CAS, 6, LONG, &res);
	expect_type(&res, HTYPE_OK, NULL);
	invoke(c, OP_CAS, 7, LONG, &res);
	expect_type(&res, HTYPE_FAIL, "mismatch");
	client_etcd.close(c);
	fakesrv_stop(&f);
	/* One connection for all four, and what went over it. */
	assert_int_equal(f.conns, 1);
	assert_int_equal(f.requests, 4);
	f.got[f.got_len < sizeof f.got ? f.got_len : sizeof f.got - 1] = '\0';
	assert_non_null(strstr(f.got, "POST /v3/kv/put HTTP/1.1"));
	assert_non_null(strstr(f.got, "POST /v3/kv/range HTTP/1.1"));
	assert_non_null(strstr(f.got, "POST /v3/kv/txn HTTP/1.1"));
	assert_non_null(strstr(f.got, "Content-Type: application/json"));
	assert_non_null(strstr(f.got, "{\"key\":\"azM=\",\"value\":\"NQ==\"}"));
	assert_null(strstr(f.got, "Expect:"));
	client_res_free(&res);
}

static void test_adapter_refused(void **state)
{
	struct tdb t;
	tdb_init(&t, fakesrv_free_port());
	struct client *c = open_client(&t);
	struct client_res res = {0};
	invoke(c, OP_WRITE, 1, LONG, &res);
	expect_type(&res, HTYPE_FAIL, NULL);
	invoke(c, OP_CAS, 2, LONG, &res);
	expect_type(&res, HTYPE_FAIL, NULL);
	client_etcd.close(c);
	client_res_free(&res);
}

static void test_adapter_silent_and_closed(void **state)
{
	struct fakesrv f;
	fakesrv_start(&f, FAKESRV_HTTP);
	fakesrv_step(&f, FAKESRV_SILENT, "x");
	fakesrv_step(&f, FAKESRV_SILENT, "x");
	fakesrv_step(&f, FAKESRV_CLOSE, "x");
	fakesrv_step(&f, FAKESRV_CLOSE, "x");
	struct tdb t;
	tdb_init(&t, f.port);
	struct client *c = open_client(&t);
	struct client_res res = {0};
	invoke(c, OP_WRITE, 1, 300 * MS, &res);
	expect_type(&res, HTYPE_INFO, "timeout");
	invoke(c, OP_READ, 0, 300 * MS, &res);
	expect_type(&res, HTYPE_FAIL, "timeout");
	/* Closed after the request (curl tries once more on a fresh connection; the server
	 * closes that one too). */
	invoke(c, OP_CAS, 2, LONG, &res);
	expect_type(&res, HTYPE_INFO, NULL);
	client_etcd.close(c);
	fakesrv_stop(&f);
	client_res_free(&res);
}

/* The member dies with the request in hand on a kept connection: curl retries on a fresh
 * connection, which is refused. The request went out: info, never fail. */
static void test_adapter_died_after_request(void **state)
{
	struct fakesrv f;
	fakesrv_start(&f, FAKESRV_HTTP);
	fakesrv_http(&f, 200, "{}");
	fakesrv_step(&f, FAKESRV_CLOSE_STOP, "x");
	struct tdb t;
	tdb_init(&t, f.port);
	struct client *c = open_client(&t);
	struct client_res res = {0};
	invoke(c, OP_WRITE, 1, LONG, &res);
	expect_type(&res, HTYPE_OK, NULL);
	invoke(c, OP_WRITE, 2, LONG, &res);
	expect_type(&res, HTYPE_INFO, NULL);
	/* Now nothing listens: nothing can be sent, so fail. */
	invoke(c, OP_WRITE, 3, LONG, &res);
	expect_type(&res, HTYPE_FAIL, NULL);
	client_etcd.close(c);
	fakesrv_stop(&f);
	assert_int_equal(f.requests, 2);
	client_res_free(&res);
}

static void test_adapter_bad_requests(void **state)
{
	struct tdb t;
	tdb_init(&t, fakesrv_free_port());
	struct client *c = open_client(&t);
	struct client_res res = {0};
	struct client_req req = {.f = OP_ADD, .key = "k1", .value = 1,
				 .deadline = clock_mono_ns() + LONG};
	client_etcd.invoke(c, &req, &res);
	expect_type(&res, HTYPE_FAIL, "bad request");
	client_etcd.close(c);
	client_res_free(&res);
	struct client *c2 = NULL;
	char err[128];
	assert_int_equal(client_etcd.open(&c2, &t.db, 3, err, sizeof err), SB_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_outcomes),
		cmocka_unit_test(test_json_helpers),
		cmocka_unit_test(test_adapter_ok_and_reuse),
		cmocka_unit_test(test_adapter_refused),
		cmocka_unit_test(test_adapter_silent_and_closed),
		cmocka_unit_test(test_adapter_died_after_request),
		cmocka_unit_test(test_adapter_bad_requests),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
