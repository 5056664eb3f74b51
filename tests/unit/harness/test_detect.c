/* Tests of harness/report/detect.h: the time of the first flagged evidence of a run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "checker/checker.h"
#include "harness/report/detect.h"

static char path[] = "/tmp/sb-test-detect-XXXXXX";

static struct chk_result *check(const char *text, enum chk_model model)
{
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	struct chk_options o = {.model = model, .threads = 1};
	struct chk_result *res = NULL;
	char err[256];
	assert_int_equal(chk_check_file(path, &o, &res, err, sizeof err), 0);
	return res;
}

static void done(struct chk_result *res)
{
	chk_result_free(res);
	unlink(path);
	strcpy(path, "/tmp/sb-test-detect-XXXXXX");
}

#define EV(t, p, type, f, key, val) \
	"{\"time\":" #t ",\"process\":" #p ",\"type\":\"" type "\",\"f\":\"" f "\",\"key\":\"" key \
	"\",\"value\":" val "}\n"

/* A set: an add acknowledged at 1 s; a read that began before it may miss it, the read that
 * began at 2 s and ended at 2.5 s may not: that read is the first evidence, not the later
 * final read. */
static void test_set_first_read(void **state)
{
	(void)state;
	const char *h = EV(900000000, 0, "invoke", "add", "k0", "1")
		EV(950000000, 1, "invoke", "read", "k0", "null")
		EV(1000000000, 0, "ok", "add", "k0", "1")
		EV(1100000000, 1, "ok", "read", "k0", "[]")
		EV(1200000000, 2, "invoke", "add", "k1", "1")
		EV(1300000000, 2, "ok", "add", "k1", "1")
		EV(2000000000, 1, "invoke", "read", "k0", "null")
		EV(2500000000, 1, "ok", "read", "k0", "[]")
		EV(2600000000, 1, "invoke", "read", "k1", "null")
		EV(2700000000, 1, "ok", "read", "k1", "[1]")
		EV(3000000000, 1, "invoke", "read", "k0", "null")
		EV(3100000000, 1, "ok", "read", "k0", "[]");
	struct chk_result *res = check(h, CHK_MODEL_SET);
	assert_int_equal(res->verdict, CHK_INVALID);
	struct detect_input in = {.check = res, .history_path = path, .end_s = 5};
	double at = -1;
	char by[256];
	assert_int_equal(detect_first(&in, &at, by, sizeof by), 1);
	assert_true(at > 2.49 && at < 2.51);
	assert_string_equal(by, "read of set \"k0\": lost or stale element");
	/* Without the history, a set anomaly has no time. */
	in.history_path = NULL;
	assert_int_equal(detect_first(&in, &at, by, sizeof by), 0);
	done(res);
}

/* An element read that was never added. */
static void test_set_unexpected(void **state)
{
	(void)state;
	const char *h = EV(100000000, 0, "invoke", "add", "k0", "1")
		EV(200000000, 0, "ok", "add", "k0", "1")
		EV(300000000, 1, "invoke", "read", "k0", "null")
		EV(400000000, 1, "ok", "read", "k0", "[1,7]");
	struct chk_result *res = check(h, CHK_MODEL_SET);
	assert_int_equal(res->verdict, CHK_INVALID);
	struct detect_input in = {.check = res, .history_path = path};
	double at;
	char by[256];
	assert_int_equal(detect_first(&in, &at, by, sizeof by), 1);
	assert_true(at > 0.39 && at < 0.41);
	assert_non_null(strstr(by, "unexpected"));
	done(res);
}

/* A register: the stale read's completion is the evidence. A valid history has none. */
static void test_register(void **state)
{
	(void)state;
	const char *h = EV(100000000, 0, "invoke", "write", "k0", "1")
		EV(200000000, 0, "ok", "write", "k0", "1")
		EV(300000000, 0, "invoke", "write", "k0", "2")
		EV(400000000, 0, "ok", "write", "k0", "2")
		EV(500000000, 1, "invoke", "read", "k0", "null")
		EV(700000000, 1, "ok", "read", "k0", "1");
	struct chk_result *res = check(h, CHK_MODEL_KV);
	assert_int_equal(res->verdict, CHK_INVALID);
	struct detect_input in = {.check = res, .history_path = path};
	double at;
	char by[256];
	assert_int_equal(detect_first(&in, &at, by, sizeof by), 1);
	assert_true(at > 0.69 && at < 0.71);
	assert_string_equal(by, "nonlinearizable read of key \"k0\"");
	done(res);

	res = check(EV(100000000, 0, "invoke", "write", "k0", "1")
		    EV(200000000, 0, "ok", "write", "k0", "1"), CHK_MODEL_KV);
	in.check = res;
	assert_int_equal(detect_first(&in, &at, by, sizeof by), 0);
	done(res);
}

/* Two leaders in one term: the later line, against the run's start on the wall clock;
 * replicas that disagree: the run's end, unless something came earlier. */
static void test_election_and_agreement(void **state)
{
	(void)state;
	static struct checks c;
	memset(&c, 0, sizeof c);
	c.election_status = ELECTION_VIOLATED;
	c.election.nviolations = 1;
	c.election.v[0].term = 4;
	snprintf(c.election.v[0].a.text, sizeof c.election.v[0].a.text,
		 "2026-11-24T00:10:03.500000Z INFO node=n1 term=4 event=became-leader");
	snprintf(c.election.v[0].b.text, sizeof c.election.v[0].b.text,
		 "2026-11-24T00:10:02.250000Z INFO node=n3 term=4 event=became-leader");
	int64_t t0 = detect_line_wall_ns("2026-11-24T00:10:00.000000Z");
	assert_true(t0 > 0);
	assert_int_equal(detect_line_wall_ns("garbage"), -1);
	assert_int_equal(detect_line_wall_ns("2026-11-24 00:10:00"), -1);
	struct detect_input in = {.checks = &c, .t0_wall_ns = t0, .end_s = 30};
	double at;
	char by[256];
	assert_int_equal(detect_first(&in, &at, by, sizeof by), 1);
	assert_true(at > 3.49 && at < 3.51);
	assert_string_equal(by, "election safety: two leaders in term 4");
	/* No start time: the log lines cannot be placed. */
	in.t0_wall_ns = 0;
	assert_int_equal(detect_first(&in, &at, by, sizeof by), 0);
	c.agreement.status = AGREE_DIVERGED;
	c.agreement.applied = 17;
	assert_int_equal(detect_first(&in, &at, by, sizeof by), 1);
	assert_true(at == 30);
	assert_string_equal(by, "replicas disagree at index 17");
	in.t0_wall_ns = t0;
	assert_int_equal(detect_first(&in, &at, by, sizeof by), 1);
	assert_true(at < 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_first_read),
		cmocka_unit_test(test_set_unexpected),
		cmocka_unit_test(test_register),
		cmocka_unit_test(test_election_and_agreement),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
