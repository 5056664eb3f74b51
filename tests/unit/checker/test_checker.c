/* Unit tests of the checker: small histories with known verdicts, the pairing rules of
 * docs/history.md, the set/list/mutex/multi-register models, limits turning into `unknown`. */
#include <math.h>
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
#include "lib/err.h"

static char last_err[1024];

/* Check `text` (JSON Lines, or EDN when edn) under `model` with the JSON `initial` (NULL =
 * none). Returns the result (caller frees) or NULL with last_err and *rcp set. */
static struct chk_result *run_opts(const char *model, const char *initial, const char *text,
				   struct chk_options *base, int *rcp)
{
	struct chk_options opt = {0};
	if (base)
		opt = *base;
	struct hval *ini = NULL;
	assert_int_equal(chk_model_parse(model, &opt.model, last_err, sizeof last_err), 0);
	if (initial)
		assert_int_equal(chk_value_parse(initial, &ini, last_err, sizeof last_err), 0);
	opt.initial = ini;
	struct hreader *r = NULL;
	assert_int_equal(hreader_open_mem(&r, text, strlen(text), "h", HFMT_AUTO, last_err,
					  sizeof last_err),
			 0);
	struct chk_result *res = NULL;
	last_err[0] = '\0';
	int rc = chk_check_reader(r, &opt, "h", &res, last_err, sizeof last_err);
	hreader_close(r);
	chk_value_free(ini);
	if (rcp)
		*rcp = rc;
	return rc ? NULL : res;
}

static enum chk_verdict verdict_of(const char *model, const char *initial, const char *text)
{
	int rc;
	struct chk_result *r = run_opts(model, initial, text, NULL, &rc);
	if (!r)
		fail_msg("check failed: %s", last_err);
	enum chk_verdict v = r->verdict;
	chk_result_free(r);
	return v;
}

#define I(p, f, v) "{\"process\":" #p ",\"type\":\"invoke\",\"f\":\"" f "\",\"value\":" v "}\n"
#define OK(p, f, v) "{\"process\":" #p ",\"type\":\"ok\",\"f\":\"" f "\",\"value\":" v "}\n"
#define FAIL(p, f, v, e)                                                                        \
	"{\"process\":" #p ",\"type\":\"fail\",\"f\":\"" f "\",\"value\":" v ",\"error\":\"" e   \
	"\"}\n"
#define INFO(p, f, v) "{\"process\":" #p ",\"type\":\"info\",\"f\":\"" f "\",\"value\":" v "}\n"
#define IK(p, k, f, v)                                                                          \
	"{\"process\":" #p ",\"key\":" #k ",\"type\":\"invoke\",\"f\":\"" f "\",\"value\":" v "}\n"
#define OKK(p, k, f, v)                                                                         \
	"{\"process\":" #p ",\"key\":" #k ",\"type\":\"ok\",\"f\":\"" f "\",\"value\":" v "}\n"

/* Two concurrent writes: either order, but two reads after both cannot disagree. */
static void test_concurrent_writes(void **state)
{
	const char *base = I(0, "write", "1") I(1, "write", "2") OK(0, "write", "1")
		OK(1, "write", "2");
	char h[2048];
	snprintf(h, sizeof h, "%s%s%s", base, I(2, "read", "null"), OK(2, "read", "1"));
	assert_int_equal(verdict_of("register", "0", h), CHK_VALID);
	snprintf(h, sizeof h, "%s%s%s", base, I(2, "read", "null"), OK(2, "read", "2"));
	assert_int_equal(verdict_of("register", "0", h), CHK_VALID);
	snprintf(h, sizeof h, "%s%s%s%s%s", base, I(2, "read", "null"), OK(2, "read", "2"),
		 I(2, "read", "null"), OK(2, "read", "1"));
	assert_int_equal(verdict_of("register", "0", h), CHK_INVALID);
}

/* A read may see a write that is still in flight, but not one invoked after it ended. */
static void test_read_of_inflight_write(void **state)
{
	assert_int_equal(verdict_of("register", "0",
				    I(0, "write", "1") I(1, "read", "null") OK(1, "read", "1")
					    OK(0, "write", "1")),
			 CHK_VALID);
	assert_int_equal(verdict_of("register", "0",
				    I(1, "read", "null") OK(1, "read", "1") I(0, "write", "1")
					    OK(0, "write", "1")),
			 CHK_INVALID);
}

/* A failed write did not happen: a read that sees it is a violation. */
static void test_failed_write_seen(void **state)
{
	assert_int_equal(verdict_of("register", "0",
				    I(0, "write", "1") FAIL(0, "write", "1", "unavailable")
					    I(1, "read", "null") OK(1, "read", "1")),
			 CHK_INVALID);
	assert_int_equal(verdict_of("register", "0",
				    I(0, "write", "1") FAIL(0, "write", "1", "unavailable")
					    I(1, "read", "null") OK(1, "read", "0")),
			 CHK_VALID);
}

/* An info write may or may not have happened; once seen it stays. */
static void test_info_write_both_readings(void **state)
{
	const char *w = I(0, "write", "1") INFO(0, "write", "1");
	char h[1024];
	snprintf(h, sizeof h, "%s%s%s", w, I(1, "read", "null"), OK(1, "read", "0"));
	assert_int_equal(verdict_of("register", "0", h), CHK_VALID);
	snprintf(h, sizeof h, "%s%s%s", w, I(1, "read", "null"), OK(1, "read", "1"));
	assert_int_equal(verdict_of("register", "0", h), CHK_VALID);
	snprintf(h, sizeof h, "%s%s%s%s%s", w, I(1, "read", "null"), OK(1, "read", "1"),
		 I(1, "read", "null"), OK(1, "read", "0"));
	assert_int_equal(verdict_of("register", "0", h), CHK_INVALID);
	/* An operation never completed counts as info. */
	assert_int_equal(verdict_of("register", "0",
				    I(0, "write", "1") I(1, "read", "null") OK(1, "read", "1")),
			 CHK_VALID);
}

/* A cas refused as "mismatch" is an observation: here the value certainly was 1 during
 * the whole interval, so the refusal exposes a bug; a plain fail hides nothing. */
static void test_cas_mismatch_observation(void **state)
{
	const char *w = I(0, "write", "1") OK(0, "write", "1");
	char h[1024];
	snprintf(h, sizeof h, "%s%s%s", w, I(1, "cas", "[1,2]"),
		 FAIL(1, "cas", "[1,2]", "mismatch"));
	assert_int_equal(verdict_of("cas-register", "0", h), CHK_INVALID);
	snprintf(h, sizeof h, "%s%s%s", w, I(1, "cas", "[1,2]"),
		 FAIL(1, "cas", "[1,2]", "timeout"));
	assert_int_equal(verdict_of("cas-register", "0", h), CHK_VALID);
	/* Concurrent with a write of 3, the mismatch has an instant where it holds. */
	snprintf(h, sizeof h, "%s%s%s%s%s", w, I(1, "cas", "[1,2]"), I(2, "write", "3"),
		 FAIL(1, "cas", "[1,2]", "mismatch"), OK(2, "write", "3"));
	assert_int_equal(verdict_of("cas-register", "0", h), CHK_VALID);
	/* A successful cas from the wrong value. */
	snprintf(h, sizeof h, "%s%s%s", w, I(1, "cas", "[0,2]"), OK(1, "cas", "[0,2]"));
	assert_int_equal(verdict_of("cas-register", "0", h), CHK_INVALID);
}

/* Initial and absent values: JSON null = absent, EDN nil = unknown. */
static void test_initial_and_absent(void **state)
{
	assert_int_equal(verdict_of("register", NULL, I(0, "read", "null") OK(0, "read", "null")),
			 CHK_VALID);
	assert_int_equal(verdict_of("register", "0", I(0, "read", "null") OK(0, "read", "null")),
			 CHK_INVALID);
	assert_int_equal(verdict_of("register", "0", I(0, "read", "null") OK(0, "read", "0")),
			 CHK_VALID);
	assert_int_equal(verdict_of("register", NULL,
				    I(0, "write", "1") OK(0, "write", "1") I(0, "read", "null")
					    OK(0, "read", "null")),
			 CHK_INVALID);
	/* EDN nil read: unknown, matches anything. */
	assert_int_equal(verdict_of("register", "0",
				    "[{:process 0 :type :invoke :f :write :value 1}\n"
				    " {:process 0 :type :ok :f :write :value 1}\n"
				    " {:process 0 :type :invoke :f :read :value nil}\n"
				    " {:process 0 :type :ok :f :read :value nil}]\n"),
			 CHK_VALID);
	assert_int_equal(verdict_of("register", "0",
				    "[{:process 0 :type :invoke :f :write :value 1}\n"
				    " {:process 0 :type :ok :f :write :value 1}\n"
				    " {:process 0 :type :invoke :f :read :value nil}\n"
				    " {:process 0 :type :ok :f :read :value 0}]\n"),
			 CHK_INVALID);
}

static void expect_reject(const char *model, const char *text, const char *want)
{
	int rc;
	struct chk_result *r = run_opts(model, NULL, text, NULL, &rc);
	chk_result_free(r);
	assert_int_equal(rc, SB_EINVAL);
	if (!strstr(last_err, want))
		fail_msg("error '%s' does not contain '%s'", last_err, want);
}

/* The rules of docs/history.md are enforced with the line named. */
static void test_rules_rejected(void **state)
{
	expect_reject("register",
		      I(0, "write", "1") INFO(0, "write", "1") I(0, "read", "null"),
		      "line 3: process 0 invokes again after its operation completed info");
	expect_reject("register", I(0, "write", "1") I(0, "read", "null"),
		      "line 2: process 0 invokes while its operation from line 1");
	expect_reject("register", OK(0, "write", "1"), "line 1: process 0 completes (ok)");
	expect_reject("register", I(0, "write", "1") OK(0, "read", "1"),
		      "line 2: process 0 completes read but invoked write");
	expect_reject("register", I(0, "cas", "[1,2]"), "line 1: the register model has no cas");
	expect_reject("cas-register", I(0, "cas", "3"), "line 1: a cas's value must be");
	expect_reject("cas-register", I(0, "frobnicate", "3"), "line 1: the cas-register model has no operation 'frobnicate'");
	expect_reject("kv", IK(0, 1, "write", "1") OKK(0, 2, "write", "1"),
		      "line 2: process 0 completes on another key");
	/* Nemesis events are ignored, whatever they look like. */
	assert_int_equal(verdict_of("register", "0",
				    "{\"process\":\"nemesis\",\"type\":\"info\",\"f\":\"kill\"}\n" I(
					    0, "read", "null") OK(0, "read", "0")),
			 CHK_VALID);
}

/* A history of `head`, then 1,300 clients (0 .. 1299) writing 2 in turn, then `tail`. */
static char *many_clients(const char *head, const char *tail)
{
	size_t cap = 1u << 20, len = 0;
	char *t = malloc(cap);
	assert_non_null(t);
	len += (size_t)snprintf(t + len, cap - len, "%s", head);
	for (int p = 0; p < 1300; p++)
		len += (size_t)snprintf(t + len, cap - len,
					"{\"process\":%d,\"type\":\"invoke\",\"f\":\"write\",\"value\":2}\n"
					"{\"process\":%d,\"type\":\"ok\",\"f\":\"write\",\"value\":2}\n",
					p, p);
	snprintf(t + len, cap - len, "%s", tail);
	return t;
}

/* Processes are kept by number while they are numbered densely, hashed otherwise (sparse or
 * huge numbers), and moved from the hash when the dense range grows over them: the pairing
 * rules hold the same way everywhere, and the lines named are right. */
static void test_process_numbers(void **state)
{
	/* 5000 ends info while it is far above the dense range (hashed); 1,300 clients later
	 * the range reaches it: its invoking again is still caught, with the info's line */
	char *t = many_clients(I(5000, "write", "1") INFO(5000, "write", "1"),
			       I(5000, "read", "null"));
	expect_reject("register", t, "line 2603: process 5000 invokes again after its operation "
				     "completed info at line 2");
	free(t);
	/* when it had not crashed, it goes on */
	t = many_clients(I(5000, "write", "1") OK(5000, "write", "1"),
			 I(5000, "read", "null") OK(5000, "read", "2"));
	assert_int_equal(verdict_of("register", NULL, t), CHK_VALID);
	free(t);
	t = many_clients(I(5000, "write", "1") OK(5000, "write", "1"),
			 I(5000, "read", "null") OK(5000, "read", "1"));
	assert_int_equal(verdict_of("register", NULL, t), CHK_INVALID);
	free(t);
	/* in flight across the move: its completion pairs with its invocation */
	t = many_clients(I(5000, "write", "3"), OK(5000, "write", "3") I(5000, "read", "null")
			 OK(5000, "read", "3"));
	assert_int_equal(verdict_of("register", NULL, t), CHK_VALID);
	free(t);
	/* sparse and huge numbers, next to small ones */
	assert_int_equal(verdict_of("register", "0",
				    I(1099511627776, "write", "1") I(7, "read", "null")
				    OK(1099511627776, "write", "1") I(1000000007, "read", "null")
				    OK(7, "read", "0") OK(1000000007, "read", "1")
				    I(9223372036854775807, "read", "null")
				    OK(9223372036854775807, "read", "1")),
			 CHK_VALID);
	expect_reject("register",
		      I(3, "write", "1") I(1099511627776, "write", "2") OK(3, "write", "1")
		      I(1099511627776, "read", "null"),
		      "line 4: process 1099511627776 invokes while its operation from line 2 is "
		      "still in flight");
	expect_reject("register",
		      I(1000000007, "write", "1") INFO(1000000007, "write", "1") I(2, "read", "null")
		      OK(2, "read", "1") I(1000000007, "read", "null"),
		      "line 5: process 1000000007 invokes again after its operation completed info "
		      "at line 2");
}

/* Keys are independent; the invalid key is named with a counterexample. */
static void test_kv_keys_and_counterexample(void **state)
{
	const char *h = IK(0, 1, "write", "5") OKK(0, 1, "write", "5") IK(1, 2, "write", "7")
		OKK(1, 2, "write", "7") IK(0, 1, "read", "null") OKK(0, 1, "read", "5")
			IK(1, 2, "read", "null") OKK(1, 2, "read", "3");
	int rc;
	struct chk_result *r = run_opts("kv", "0", h, NULL, &rc);
	assert_non_null(r);
	assert_int_equal(r->verdict, CHK_INVALID);
	assert_int_equal(r->nkeys, 2);
	assert_int_equal(r->ninvalid, 1);
	assert_string_equal(r->keys[0].key, "2");
	assert_non_null(r->keys[0].bad);
	assert_int_equal(r->keys[0].bad->line, 7);
	assert_string_equal(r->keys[0].bad->value, "3");
	assert_non_null(strstr(r->keys[0].why, "read of key 2 returned 3"));
	assert_int_equal(r->keys[1].verdict, CHK_VALID);
	/* The JSON form carries the counterexample. */
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_int_equal(chk_result_write_json(r, f), 0);
	fclose(f);
	assert_non_null(strstr(buf, "\"counterexample\":{\"op\":{\"line\":7"));
	free(buf);
	chk_result_free(r);
}

/* The counterexample carries the order the deepest search path linearized, as the
 * invocation lines of its operations: here both writes (either order) and the read of 2;
 * the read of 1 (line 7) cannot follow. */
static void test_linearized_order(void **state)
{
	const char *h = I(0, "write", "1") I(1, "write", "2") OK(0, "write", "1")
		OK(1, "write", "2") I(2, "read", "null") OK(2, "read", "2")
			I(2, "read", "null") OK(2, "read", "1");
	int rc;
	struct chk_result *r = run_opts("register", "0", h, NULL, &rc);
	assert_non_null(r);
	assert_int_equal(r->verdict, CHK_INVALID);
	const struct chk_key_result *k = &r->keys[0];
	assert_int_equal(k->bad->line, 7);
	assert_int_equal(k->nlinearized, 3);
	assert_int_equal(k->linearized_skipped, 0);
	assert_int_equal(k->linearized[0] + k->linearized[1], 1 + 2); /* the writes */
	assert_int_equal(k->linearized[2], 5);                       /* then the read of 2 */
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_int_equal(chk_result_write_json(r, f), 0);
	fclose(f);
	assert_true(strstr(buf, "\"linearized\":[1,2,5]") || strstr(buf, "\"linearized\":[2,1,5]"));
	free(buf);
	chk_result_free(r);
}

/* The sentence of the issue: a stale read after a completed overwrite. */
static void test_stale_read_sentence(void **state)
{
	const char *h =
		"{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"key\":3,\"value\":5,\"time\":1000000000}\n"
		"{\"process\":0,\"type\":\"ok\",\"f\":\"write\",\"key\":3,\"value\":5,\"time\":1100000000}\n"
		"{\"process\":1,\"type\":\"invoke\",\"f\":\"write\",\"key\":3,\"value\":7,\"time\":2000000000}\n"
		"{\"process\":1,\"type\":\"ok\",\"f\":\"write\",\"key\":3,\"value\":7,\"time\":2100000000}\n"
		"{\"process\":2,\"type\":\"invoke\",\"f\":\"read\",\"key\":3,\"value\":null,\"time\":2300000000}\n"
		"{\"process\":2,\"type\":\"ok\",\"f\":\"read\",\"key\":3,\"value\":5,\"time\":2310000000}\n";
	int rc;
	struct chk_result *r = run_opts("kv", NULL, h, NULL, &rc);
	assert_non_null(r);
	assert_int_equal(r->verdict, CHK_INVALID);
	assert_string_equal(r->keys[0].why,
			    "read of key 3 returned 5 at 2.310 s, but write 7 completed at 2.100 s "
			    "and no later write of 5 exists");
	chk_result_free(r);
}

/* Changing one read of a valid history makes it invalid. */
static void test_changed_read_invalid(void **state)
{
	const char *fmt = I(0, "write", "1") I(1, "read", "null") OK(0, "write", "1")
		OK(1, "read", "%d") I(2, "write", "2") OK(2, "write", "2") I(0, "read", "null")
			OK(0, "read", "%d") I(1, "cas", "[2,3]") OK(1, "cas", "[2,3]")
				I(2, "read", "null") OK(2, "read", "%d");
	char h[4096];
	snprintf(h, sizeof h, fmt, 0, 2, 3);
	assert_int_equal(verdict_of("cas-register", "0", h), CHK_VALID);
	snprintf(h, sizeof h, fmt, 1, 2, 3);
	assert_int_equal(verdict_of("cas-register", "0", h), CHK_VALID);
	int bad[][3] = {{2, 2, 3}, {0, 1, 3}, {0, 2, 2}, {0, 2, 1}, {3, 2, 3}};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(h, sizeof h, fmt, bad[i][0], bad[i][1], bad[i][2]);
		if (verdict_of("cas-register", "0", h) != CHK_INVALID)
			fail_msg("variant %zu should be invalid", i);
	}
}

static struct chk_result *set_result(const char *h)
{
	int rc;
	struct chk_result *r = run_opts("set", NULL, h, NULL, &rc);
	if (!r)
		fail_msg("check failed: %s", last_err);
	return r;
}

static void test_set_model(void **state)
{
	/* Element 2 is acknowledged but missing from the final read: lost. */
	struct chk_result *r = set_result(I(0, "add", "1") OK(0, "add", "1") I(0, "add", "2")
						  OK(0, "add", "2") I(1, "read", "null")
							  OK(1, "read", "[1]"));
	assert_int_equal(r->verdict, CHK_INVALID);
	assert_int_equal(r->keys[0].set_count[CHK_SET_LOST], 1);
	assert_string_equal(r->keys[0].set_sample[CHK_SET_LOST], "[2]");
	chk_result_free(r);
	/* Missing from one later read but present in the final one: stale. */
	r = set_result(I(0, "add", "1") OK(0, "add", "1") I(1, "read", "null") OK(1, "read", "[]")
			       I(1, "read", "null") OK(1, "read", "[1]"));
	assert_int_equal(r->verdict, CHK_INVALID);
	assert_int_equal(r->keys[0].set_count[CHK_SET_STALE], 1);
	assert_int_equal(r->keys[0].set_count[CHK_SET_LOST], 0);
	chk_result_free(r);
	/* Read but never added: unexpected. A failed add does not count as added. */
	r = set_result(I(0, "add", "1") FAIL(0, "add", "1", "unavailable") I(1, "read", "null")
			       OK(1, "read", "[1,3]"));
	assert_int_equal(r->verdict, CHK_INVALID);
	assert_int_equal(r->keys[0].set_count[CHK_SET_UNEXPECTED], 2);
	chk_result_free(r);
	/* An indeterminate add that a read returned: recovered, valid. A read concurrent with
	 * an add may miss it. */
	r = set_result(I(0, "add", "4") INFO(0, "add", "4") I(1, "add", "5") I(2, "read", "null")
			       OK(2, "read", "[4]") OK(1, "add", "5") I(2, "read", "null")
				       OK(2, "read", "[4,5]"));
	assert_int_equal(r->verdict, CHK_VALID);
	assert_int_equal(r->keys[0].set_count[CHK_SET_RECOVERED], 1);
	assert_int_equal(r->keys[0].set_acked, 1);
	chk_result_free(r);
	/* An add acknowledged after the last read began was never read: reported, valid. */
	r = set_result(I(0, "add", "1") OK(0, "add", "1") I(1, "read", "null") I(0, "add", "2")
			       OK(0, "add", "2") OK(1, "read", "[1]"));
	assert_int_equal(r->verdict, CHK_VALID);
	assert_int_equal(r->keys[0].set_count[CHK_SET_NEVER_READ], 1);
	assert_string_equal(r->keys[0].set_sample[CHK_SET_NEVER_READ], "[2]");
	chk_result_free(r);
	/* Adds acknowledged but never read: nothing verified, unknown. */
	r = set_result(I(0, "add", "1") OK(0, "add", "1"));
	assert_int_equal(r->verdict, CHK_UNKNOWN);
	chk_result_free(r);
}

static void test_list_model(void **state)
{
	const char *base = I(0, "append", "1") I(1, "append", "2") OK(0, "append", "1")
		OK(1, "append", "2");
	char h[2048];
	snprintf(h, sizeof h, "%s%s%s", base, I(2, "read", "null"), OK(2, "read", "[2,1]"));
	assert_int_equal(verdict_of("list", NULL, h), CHK_VALID);
	snprintf(h, sizeof h, "%s%s%s%s%s", base, I(2, "read", "null"), OK(2, "read", "[1,2]"),
		 I(2, "read", "null"), OK(2, "read", "[2,1]"));
	assert_int_equal(verdict_of("list", NULL, h), CHK_INVALID);
	snprintf(h, sizeof h, "%s%s%s", base, I(2, "read", "null"), OK(2, "read", "[1]"));
	assert_int_equal(verdict_of("list", NULL, h), CHK_INVALID);
	/* [] and null both mean empty. */
	assert_int_equal(verdict_of("list", NULL,
				    I(0, "read", "null") OK(0, "read", "null") I(0, "read", "null")
					    OK(0, "read", "[]")),
			 CHK_VALID);
	assert_int_equal(verdict_of("list", "[7]", I(0, "read", "null") OK(0, "read", "[7]")),
			 CHK_VALID);
	/* A read that never completed constrains nothing. */
	assert_int_equal(verdict_of("list", NULL,
				    I(0, "append", "1") OK(0, "append", "1") I(1, "read", "null")),
			 CHK_VALID);
}

static void test_mutex_model(void **state)
{
	assert_int_equal(verdict_of("mutex", NULL,
				    I(0, "acquire", "null") OK(0, "acquire", "null")
					    I(0, "release", "null") OK(0, "release", "null")
						    I(1, "acquire", "null") OK(1, "acquire", "null")),
			 CHK_VALID);
	assert_int_equal(verdict_of("mutex", NULL,
				    I(0, "acquire", "null") OK(0, "acquire", "null")
					    I(1, "acquire", "null") OK(1, "acquire", "null")),
			 CHK_INVALID);
	/* A release that failed did not happen; one that is indeterminate may have. */
	assert_int_equal(verdict_of("mutex", NULL,
				    I(0, "acquire", "null") OK(0, "acquire", "null")
					    I(0, "release", "null") INFO(0, "release", "null")
						    I(1, "acquire", "null") OK(1, "acquire", "null")),
			 CHK_VALID);
	assert_int_equal(verdict_of("mutex", NULL,
				    I(0, "acquire", "null") OK(0, "acquire", "null")
					    I(0, "release", "null") FAIL(0, "release", "null", "x")
						    I(1, "acquire", "null") OK(1, "acquire", "null")),
			 CHK_INVALID);
}

static void test_multi_register_model(void **state)
{
	const char *w = I(0, "txn", "[[\"write\",\"x\",1]]") OK(0, "txn", "[[\"write\",\"x\",1]]");
	char h[2048];
	snprintf(h, sizeof h, "%s%s%s", w, I(1, "txn", "[[\"read\",\"x\",null],[\"read\",\"y\",null]]"),
		 OK(1, "txn", "[[\"read\",\"x\",1],[\"read\",\"y\",0]]"));
	assert_int_equal(verdict_of("multi-register", "{\"x\":0,\"y\":0}", h), CHK_VALID);
	snprintf(h, sizeof h, "%s%s%s", w, I(1, "txn", "[[\"read\",\"x\",null]]"),
		 OK(1, "txn", "[[\"read\",\"x\",0]]"));
	assert_int_equal(verdict_of("multi-register", "{\"x\":0,\"y\":0}", h), CHK_INVALID);
	/* One value for every register. */
	snprintf(h, sizeof h, "%s%s%s", w, I(1, "txn", "[[\"read\",\"y\",null]]"),
		 OK(1, "txn", "[[\"read\",\"y\",5]]"));
	assert_int_equal(verdict_of("multi-register", "5", h), CHK_VALID);
	assert_int_equal(verdict_of("multi-register", "0", h), CHK_INVALID);
	/* An indeterminate txn's reads are unknown (its invocation says null): its write may
	 * still have happened. */
	assert_int_equal(verdict_of("multi-register", "{\"x\":0,\"y\":0}",
				    I(0, "txn", "[[\"read\",\"x\",null],[\"write\",\"y\",1]]")
					    INFO(0, "txn", "[[\"read\",\"x\",null],[\"write\",\"y\",1]]")
						    I(1, "txn", "[[\"read\",\"y\",null]]")
							    OK(1, "txn", "[[\"read\",\"y\",1]]")),
			 CHK_VALID);
}

/* A history whose search space is huge: 26 concurrent writes of distinct values, then two
 * reads in sequence of two different ones (invalid: needs ~2^24 configurations to prove). */
static char *hard_history(void)
{
	size_t cap = 64 * 1024, len = 0;
	char *h = malloc(cap);
	const int n = 26;
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(h + len, cap - len, I(%d, "write", "%d"), i, i + 1);
	/* every value is also read, concurrently: no write is like another */
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(h + len, cap - len, I(%d, "read", "null"), 100 + i);
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(h + len, cap - len, OK(%d, "write", "%d"), i, i + 1);
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(h + len, cap - len, OK(%d, "read", "%d"), 100 + i, i + 1);
	len += (size_t)snprintf(h + len, cap - len, "%s%s%s%s", I(0, "read", "null"),
				OK(0, "read", "1"), I(0, "read", "null"), OK(0, "read", "2"));
	return h;
}

static void test_timeout_unknown(void **state)
{
	char *h = hard_history();
	struct chk_options o = {.timeout_s = 0.05};
	int rc;
	struct chk_result *r = run_opts("register", "0", h, &o, &rc);
	assert_non_null(r);
	assert_int_equal(r->verdict, CHK_UNKNOWN);
	assert_int_equal(r->nunknown, 1);
	assert_non_null(strstr(r->keys[0].why, "time limit"));
	chk_result_free(r);
	free(h);
}

/* A per-key limit leaves that key unknown and lets the others be decided. */
static void test_key_timeout_unknown(void **state)
{
	char *hard = hard_history();
	size_t n = strlen(hard) + 4096;
	char *h = malloc(n);
	/* The hard history on key "k" (via the key field added below), plus an easy key. */
	size_t len = 0;
	for (const char *p = hard; *p;) {
		const char *nl = strchr(p, '\n');
		len += (size_t)snprintf(h + len, n - len, "{\"key\":\"k\",%.*s\n",
					(int)(nl - p - 1), p + 1);
		p = nl + 1;
	}
	len += (size_t)snprintf(h + len, n - len, "%s%s", IK(90, 1, "read", "null"),
				OKK(90, 1, "read", "0"));
	struct chk_options o = {.key_timeout_s = 0.05, .threads = 1};
	int rc;
	struct chk_result *r = run_opts("kv", "0", h, &o, &rc);
	assert_non_null(r);
	assert_int_equal(r->verdict, CHK_UNKNOWN);
	assert_int_equal(r->nunknown, 1);
	assert_int_equal(r->nvalid, 1);
	assert_string_equal(r->keys[0].key, "\"k\"");
	assert_non_null(strstr(r->keys[0].why, "per-key time limit"));
	chk_result_free(r);
	free(h);
	free(hard);
}

static void test_memory_cap_unknown(void **state)
{
	char *h = hard_history();
	struct chk_options o = {.memory_limit = 1 << 20};
	int rc;
	struct chk_result *r = run_opts("register", "0", h, &o, &rc);
	assert_non_null(r);
	assert_int_equal(r->verdict, CHK_UNKNOWN);
	assert_non_null(strstr(r->keys[0].why, "memory cap"));
	chk_result_free(r);
	free(h);
}

/* The same hard shape with a small window is decided (invalid) without limits. */
static void test_hard_small_decided(void **state)
{
	const char *h = I(0, "write", "1") I(1, "write", "2") I(2, "write", "3") I(3, "write", "4")
		OK(0, "write", "1") OK(1, "write", "2") OK(2, "write", "3") OK(3, "write", "4")
			I(0, "read", "null") OK(0, "read", "1") I(0, "read", "null")
				OK(0, "read", "2");
	assert_int_equal(verdict_of("register", "0", h), CHK_INVALID);
}

/* A read of a value that nothing writes is decided without a search: behind the hard
 * prefix above, under a memory cap that stops any search, the verdict is still invalid. */
static void test_never_written_read(void **state)
{
	const int n = 26;
	size_t cap = 64 * 1024, len = 0;
	char *h = malloc(cap);
	assert_non_null(h);
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(h + len, cap - len, I(%d, "write", "%d"), i, i + 1);
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(h + len, cap - len, OK(%d, "write", "%d"), i, i + 1);
	len += (size_t)snprintf(h + len, cap - len, "%s%s", I(0, "read", "null"),
				OK(0, "read", "99"));
	struct chk_options o = {.memory_limit = 1 << 20};
	int rc;
	struct chk_result *r = run_opts("register", "0", h, &o, &rc);
	assert_non_null(r);
	assert_int_equal(r->verdict, CHK_INVALID);
	assert_non_null(strstr(r->keys[0].why, "no operation ever wrote 99"));
	chk_result_free(r);
	/* The initial value is not "never written". */
	const char *ok = I(0, "read", "null") OK(0, "read", "0");
	assert_int_equal(verdict_of("register", "0", ok), CHK_VALID);
	free(h);
}

/* A list key with a repeated element goes to the search. The memo once moved entries on
 * growth by another hash than it placed them with, piling the configurations that share a
 * linearized set (here the k! orders of each k appends) into one probe run: this history
 * (8 concurrent appends, one element appended twice, then a read no order explains) took
 * 53 s to decide; it takes about a second, well inside the 30 s limit given here. */
static void test_list_search_memo(void **state)
{
	size_t cap = 8192, len = 0;
	char *h = malloc(cap);
	assert_non_null(h);
	for (int t = 0; t < 2; t++) {
		for (int i = 0; i < 8; i++)
			len += (size_t)snprintf(h + len, cap - len,
						t ? OK(%d, "append", "%d") : I(%d, "append", "%d"), i,
						i + 1);
		len += (size_t)snprintf(h + len, cap - len, "%s",
					t ? OK(99, "append", "1") : I(99, "append", "1"));
	}
	len += (size_t)snprintf(h + len, cap - len, "%s%s", I(100, "read", "null"),
				OK(100, "read", "[2,1]"));
	struct chk_options o = {.timeout_s = 30};
	int rc;
	struct chk_result *r = run_opts("list", NULL, h, &o, &rc);
	assert_non_null(r);
	assert_int_equal(r->verdict, CHK_INVALID);
	chk_result_free(r);
	free(h);
}

static void test_value_parse(void **state)
{
	struct hval *v = NULL;
	assert_int_equal(chk_value_parse("{\"x\":0}", &v, last_err, sizeof last_err), 0);
	assert_int_equal(v->kind, HVAL_MAP);
	chk_value_free(v);
	assert_int_equal(chk_value_parse("[1,", &v, last_err, sizeof last_err), SB_EINVAL);
	assert_int_equal(chk_value_parse("1 2", &v, last_err, sizeof last_err), SB_EINVAL);
	enum chk_model m;
	assert_int_equal(chk_model_parse("bogus", &m, last_err, sizeof last_err), SB_EINVAL);
	assert_int_equal(chk_verdict_worst(CHK_UNKNOWN, CHK_INVALID), CHK_INVALID);
	assert_int_equal(chk_verdict_worst(CHK_UNKNOWN, CHK_VALID), CHK_UNKNOWN);
}


/* Integers beyond 64 bits compare exactly: they were compared as doubles, so a read of
 * 2^64+1 after a write of 2^64 passed, and a lost set add or list element hid behind one
 * that was read. 1 and 1.0 stay equal, and so do a double and the integer it is exactly. */
#define B64 "18446744073709551616"
#define B64P1 "18446744073709551617"
static void test_bigint_exact(void **state)
{
	const char *wr = I(0, "write", B64) OK(0, "write", B64) I(1, "read", "null");
	char h[2048];
	snprintf(h, sizeof h, "%s%s", wr, OK(1, "read", B64P1));
	assert_int_equal(verdict_of("register", NULL, h), CHK_INVALID);
	snprintf(h, sizeof h, "%s%s", wr, OK(1, "read", B64));
	assert_int_equal(verdict_of("register", NULL, h), CHK_VALID);
	/* the counterexample shows the exact number */
	snprintf(h, sizeof h, "%s%s", wr, OK(1, "read", B64P1));
	int rc;
	struct chk_result *r = run_opts("register", NULL, h, NULL, &rc);
	assert_non_null(r);
	assert_string_equal(r->keys[0].bad->value, B64P1);
	assert_non_null(strstr(r->keys[0].why, "returned " B64P1));
	chk_result_free(r);
	/* negative ones too */
	assert_int_equal(verdict_of("register", NULL,
				    I(0, "write", "-9223372036854775809")
					    OK(0, "write", "-9223372036854775809")
						    I(1, "read", "null")
							    OK(1, "read", "-9223372036854775810")),
			 CHK_INVALID);
	/* cas from a value nobody wrote */
	assert_int_equal(verdict_of("cas-register", B64,
				    I(0, "cas", "[" B64P1 ",1]") OK(0, "cas", "[" B64P1 ",1]")),
			 CHK_INVALID);
	assert_int_equal(verdict_of("cas-register", B64,
				    I(0, "cas", "[" B64 ",1]") OK(0, "cas", "[" B64 ",1]")),
			 CHK_VALID);
	/* a lost set add */
	r = run_opts("set", NULL,
		     I(0, "add", B64) OK(0, "add", B64) I(0, "add", B64P1) OK(0, "add", B64P1)
			     I(1, "read", "null") OK(1, "read", "[" B64 "]"),
		     NULL, &rc);
	assert_non_null(r);
	assert_int_equal(r->verdict, CHK_INVALID);
	assert_int_equal(r->keys[0].set_count[CHK_SET_LOST], 1);
	assert_string_equal(r->keys[0].set_sample[CHK_SET_LOST], "[" B64P1 "]");
	chk_result_free(r);
	/* a list read of an element nobody appended */
	assert_int_equal(verdict_of("list", NULL,
				    I(0, "append", B64) OK(0, "append", B64) I(1, "read", "null")
					    OK(1, "read", "[" B64P1 "]")),
			 CHK_INVALID);
	/* EDN bigints (the N suffix) */
	assert_int_equal(verdict_of("register", NULL,
				    "[{:process 0 :type :invoke :f :write :value " B64 "N}\n"
				    " {:process 0 :type :ok :f :write :value " B64 "N}\n"
				    " {:process 1 :type :invoke :f :read :value nil}\n"
				    " {:process 1 :type :ok :f :read :value " B64P1 "N}]\n"),
			 CHK_INVALID);
	assert_int_equal(verdict_of("register", NULL,
				    "[{:process 0 :type :invoke :f :write :value " B64 "N}\n"
				    " {:process 0 :type :ok :f :write :value " B64 "N}\n"
				    " {:process 1 :type :invoke :f :read :value nil}\n"
				    " {:process 1 :type :ok :f :read :value " B64 "}]\n"),
			 CHK_VALID);
	/* equal numbers stay equal */
	assert_int_equal(verdict_of("register", NULL,
				    I(0, "write", "1") OK(0, "write", "1") I(1, "read", "null")
					    OK(1, "read", "1.0")),
			 CHK_VALID);
	assert_int_equal(verdict_of("register", NULL,
				    I(0, "write", "10000000000000000000")
					    OK(0, "write", "10000000000000000000")
						    I(1, "read", "null") OK(1, "read", "1e19")),
			 CHK_VALID);
	assert_int_equal(verdict_of("register", NULL,
				    I(0, "write", "9223372036854775808")
					    OK(0, "write", "9223372036854775808") I(1, "read", "null")
						    OK(1, "read", "9.223372036854775808e18")),
			 CHK_VALID);
	/* 2^62 and beyond: integers the checker keeps out of line */
	assert_int_equal(verdict_of("register", NULL,
				    I(0, "write", "9200000000000001024")
					    OK(0, "write", "9200000000000001024") I(1, "read", "null")
						    OK(1, "read", "9.200000000000001024e18")),
			 CHK_VALID);
}

/* Limits from a program calling the library: a huge or infinite time limit is no limit (it
 * turned a valid history into unknown at once), NaN is refused. */
static void test_options_extreme(void **state)
{
	const char *h = I(0, "write", "1") OK(0, "write", "1") I(1, "read", "null")
		OK(1, "read", "1");
	const double huge[] = {1e300, 1e10, 9.3e9, (double)INFINITY};
	for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
		struct chk_options o = {.timeout_s = huge[i]};
		int rc;
		struct chk_result *r = run_opts("register", NULL, h, &o, &rc);
		assert_non_null(r);
		if (r->verdict != CHK_VALID)
			fail_msg("timeout_s %g: %s", huge[i], chk_verdict_name(r->verdict));
		chk_result_free(r);
		o = (struct chk_options){.key_timeout_s = huge[i], .threads = 1 << 30,
					 .memory_limit = SIZE_MAX};
		r = run_opts("register", NULL, h, &o, &rc);
		assert_non_null(r);
		if (r->verdict != CHK_VALID)
			fail_msg("key_timeout_s %g: %s", huge[i], chk_verdict_name(r->verdict));
		chk_result_free(r);
	}
	/* long enough that the reader looks at the clock while reading */
	size_t cap = 1 << 20, len = 0;
	char *lh = malloc(cap);
	for (int i = 0; i < 3000; i++)
		len += (size_t)snprintf(lh + len, cap - len, "%s%s", I(0, "write", "1"),
					OK(0, "write", "1"));
	for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
		struct chk_options o = {.timeout_s = huge[i]};
		int rc;
		struct chk_result *r = run_opts("register", NULL, lh, &o, &rc);
		assert_non_null(r);
		if (r->verdict != CHK_VALID)
			fail_msg("timeout_s %g, 6000 events: %s", huge[i],
				 chk_verdict_name(r->verdict));
		chk_result_free(r);
	}
	free(lh);
	struct chk_options o = {.timeout_s = (double)NAN};
	int rc;
	assert_null(run_opts("register", NULL, h, &o, &rc));
	assert_int_equal(rc, SB_EINVAL);
	assert_non_null(strstr(last_err, "timeout"));
	o = (struct chk_options){.key_timeout_s = -(double)NAN};
	assert_null(run_opts("register", NULL, h, &o, &rc));
	assert_int_equal(rc, SB_EINVAL);
	/* negative: none, as documented */
	o = (struct chk_options){.timeout_s = -1, .key_timeout_s = -(double)INFINITY};
	struct chk_result *r = run_opts("register", NULL, h, &o, &rc);
	assert_non_null(r);
	assert_int_equal(r->verdict, CHK_VALID);
	chk_result_free(r);
}

/* Under kv an EDN value without a key must be a [key value] tuple: a 3-element one was
 * silently taken as the value of one unkeyed register. */
static void test_kv_tuple_shape(void **state)
{
	int rc;
	assert_null(run_opts("kv", NULL,
			     "[{:process 0 :type :invoke :f :write :value [:a 1]}\n"
			     " {:process 0 :type :ok :f :write :value [:a 1]}\n"
			     " {:process 1 :type :invoke :f :write :value [:a 1 2]}\n"
			     " {:process 1 :type :ok :f :write :value [:a 1 2]}]\n",
			     NULL, &rc));
	assert_int_equal(rc, SB_EINVAL);
	if (!strstr(last_err, "line 3") || !strstr(last_err, "[key value]"))
		fail_msg("message: %s", last_err);
}

/* The counterexample tells how many operations were concurrent with the bad one, not the
 * number it lists (it said 32 when there were many more). */
static void test_concurrent_true_count(void **state)
{
	size_t cap = 1 << 16, len = 0;
	char *h = malloc(cap);
	for (int i = 1; i <= 100; i++)
		len += (size_t)snprintf(h + len, cap - len, I(%d, "write", "%d"), i, 1000 + i);
	len += (size_t)snprintf(h + len, cap - len, "%s%s", I(0, "read", "null"),
				OK(0, "read", "7"));
	int rc;
	struct chk_result *r = run_opts("register", NULL, h, NULL, &rc);
	assert_non_null(r);
	assert_int_equal(r->verdict, CHK_INVALID);
	char *out = NULL;
	size_t outlen = 0;
	FILE *f = open_memstream(&out, &outlen);
	chk_result_print(r, f);
	fclose(f);
	if (!strstr(out, "concurrent with it: 100 operations (showing 8 of 100)"))
		fail_msg("summary: %s", out);
	free(out);
	f = open_memstream(&out, &outlen);
	assert_int_equal(chk_result_write_json(r, f), 0);
	fclose(f);
	if (!strstr(out, "\"concurrent_total\":100"))
		fail_msg("json: %.300s", out);
	free(out);
	chk_result_free(r);
	/* the list model's checker counts them all too */
	len = 0;
	for (int i = 1; i <= 40; i++)
		len += (size_t)snprintf(h + len, cap - len, I(%d, "append", "%d"), i, 100 + i);
	len += (size_t)snprintf(h + len, cap - len, "%s%s", I(0, "read", "null"),
				OK(0, "read", "[7]"));
	r = run_opts("list", NULL, h, NULL, &rc);
	assert_non_null(r);
	assert_int_equal(r->verdict, CHK_INVALID);
	assert_int_equal(r->keys[0].nconcurrent_total, 40);
	assert_true(r->keys[0].nconcurrent <= 40);
	chk_result_free(r);
	free(h);
}

/* An empty history is valid but says loudly that nothing was checked. */
static void test_empty_history_warns(void **state)
{
	const char *texts[] = {"", "\n\n", "[]", "{\"process\":\"nemesis\",\"type\":\"info\",\"f\":\"kill\"}\n"};
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		int rc;
		struct chk_result *r = run_opts("register", NULL, texts[i], NULL, &rc);
		assert_non_null(r);
		assert_int_equal(r->verdict, CHK_VALID);
		char *out = NULL;
		size_t outlen = 0;
		FILE *f = open_memstream(&out, &outlen);
		chk_result_print(r, f);
		fclose(f);
		if (!strstr(out, "no operations: nothing was checked"))
			fail_msg("history '%s': %s", texts[i], out);
		free(out);
		f = open_memstream(&out, &outlen);
		assert_int_equal(chk_result_write_json(r, f), 0);
		fclose(f);
		assert_non_null(strstr(out, "\"warning\":\"no operations: nothing was checked\""));
		free(out);
		chk_result_free(r);
	}
}

/* --initial: a deep value gets the reason and a short echo; duplicate keys are refused. */
static void test_value_parse_reasons(void **state)
{
	size_t n = 120000;
	char *deep = malloc(n + 1);
	memset(deep, '[', n);
	deep[n] = '\0';
	struct hval *v = NULL;
	assert_int_equal(chk_value_parse(deep, &v, last_err, sizeof last_err), SB_EINVAL);
	if (strlen(last_err) > 300 || !strstr(last_err, "nested deeper"))
		fail_msg("message (%zu bytes): %.300s", strlen(last_err), last_err);
	free(deep);
	assert_int_equal(chk_value_parse("[1,", &v, last_err, sizeof last_err), SB_EINVAL);
	assert_non_null(strstr(last_err, "column 4"));
	assert_int_equal(chk_value_parse("{\"x\":0,\"x\":1}", &v, last_err, sizeof last_err),
			 SB_EINVAL);
	if (!strstr(last_err, "\"x\"") || !strstr(last_err, "twice"))
		fail_msg("message: %s", last_err);
	assert_int_equal(chk_value_parse("[{\"a\":1,\"b\":[{\"c\":1,\"c\":1}]}]", &v, last_err,
					 sizeof last_err),
			 SB_EINVAL);
	assert_non_null(strstr(last_err, "\"c\""));
	assert_int_equal(chk_value_parse("{\"x\":0,\"y\":{\"x\":1}}", &v, last_err, sizeof last_err),
			 0);
	chk_value_free(v);
	/* a map built by a program and handed to the library directly */
	struct hval items[4] = {{.kind = HVAL_STR, .len = 1, .u.s = "x"}, {.kind = HVAL_INT},
				{.kind = HVAL_STR, .len = 1, .u.s = "x"}, {.kind = HVAL_INT, .u.i = 1}};
	struct hval m = {.kind = HVAL_MAP, .len = 2, .u.items = items};
	struct chk_options o = {.model = CHK_MODEL_MULTI_REGISTER, .initial = &m};
	struct chk_history *hist = NULL;
	assert_int_equal(chk_history_new(&hist, &o, "h", last_err, sizeof last_err), SB_EINVAL);
	assert_null(hist);
	assert_non_null(strstr(last_err, "\"x\""));
}


/* min_ops: a history with fewer operations is unknown at best (a CI gate must not pass on a
 * truncated history); an invalid one stays invalid. */
static void test_min_ops(void **state)
{
	const char *ok2 = I(0, "write", "1") OK(0, "write", "1") I(1, "read", "null")
		OK(1, "read", "1");
	const char *bad2 = I(0, "write", "1") OK(0, "write", "1") I(1, "read", "null")
		OK(1, "read", "2");
	struct chk_options o = {.min_ops = 3};
	int rc;
	struct chk_result *r = run_opts("register", NULL, ok2, &o, &rc);
	assert_non_null(r);
	assert_int_equal(r->verdict, CHK_UNKNOWN);
	assert_non_null(r->warning);
	assert_non_null(strstr(r->warning, "only 2 operations, fewer than the required minimum of 3"));
	chk_result_free(r);
	r = run_opts("register", NULL, bad2, &o, &rc);
	assert_non_null(r);
	assert_int_equal(r->verdict, CHK_INVALID);
	chk_result_free(r);
	o.min_ops = 2;
	r = run_opts("register", NULL, ok2, &o, &rc);
	assert_non_null(r);
	assert_int_equal(r->verdict, CHK_VALID);
	assert_null(r->warning);
	chk_result_free(r);
	r = run_opts("register", NULL, "", &o, &rc);
	assert_non_null(r);
	assert_int_equal(r->verdict, CHK_UNKNOWN);
	assert_string_equal(r->warning,
			    "no operations: nothing was checked, fewer than the required minimum of 2");
	chk_result_free(r);
}


/* The operation array is first sized from the file's size (checker.c): a file of short events
 * holds more operations than the guess, one padded with a long string far fewer. Both read
 * every operation and get the verdict they would from memory. */
static void check_file_text(const char *text, enum chk_verdict want, size_t ops)
{
	char path[] = "/tmp/test_checker_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	struct chk_options opt = {0};
	assert_int_equal(chk_model_parse("register", &opt.model, last_err, sizeof last_err), 0);
	struct chk_result *r = NULL;
	int rc = chk_check_file(path, &opt, &r, last_err, sizeof last_err);
	unlink(path);
	if (rc)
		fail_msg("check failed: %s", last_err);
	assert_int_equal(r->ops, ops);
	assert_int_equal(r->verdict, want);
	chk_result_free(r);
	int mrc;
	r = run_opts("register", NULL, text, NULL, &mrc);
	assert_non_null(r);
	assert_int_equal(r->ops, ops);
	assert_int_equal(r->verdict, want);
	chk_result_free(r);
}

static void test_file_size_guess_either_way(void **state)
{
	/* 6,000 writes and reads in turn, some 52 bytes an event: the size suggests 3,900 */
	size_t cap = 1u << 20, len = 0;
	char *t = malloc(cap);
	assert_non_null(t);
	for (int i = 0; i < 3000; i++)
		len += (size_t)snprintf(t + len, cap - len,
					"{\"process\":%d,\"type\":\"invoke\",\"f\":\"write\",\"value\":%d}\n"
					"{\"process\":%d,\"type\":\"ok\",\"f\":\"write\",\"value\":%d}\n"
					"{\"process\":%d,\"type\":\"invoke\",\"f\":\"read\"}\n"
					"{\"process\":%d,\"type\":\"ok\",\"f\":\"read\",\"value\":%d}\n",
					i % 3, i, i % 3, i, 3 + i % 3, 3 + i % 3, i);
	assert_true(len < cap && len / 160 < 6000 && len / 160 > 1024);
	check_file_text(t, CHK_VALID, 6000);
	/* the last read returns the write before the last one: a stale read */
	char *last = strrchr(t, ':');
	assert_non_null(last);
	snprintf(last + 1, cap - (size_t)(last + 1 - t), "%d}\n", 2998);
	check_file_text(t, CHK_INVALID, 6000);
	/* three operations in 2 MB: the size suggests 13,000 */
	free(t);
	cap = 3u << 20;
	t = malloc(cap);
	assert_non_null(t);
	len = (size_t)snprintf(t, cap, I(0, "write", "1") OK(0, "write", "1")
			       "{\"process\":1,\"type\":\"invoke\",\"f\":\"read\",\"node\":\"");
	memset(t + len, 'n', 2u << 20);
	len += 2u << 20;
	snprintf(t + len, cap - len, "\"}\n" OK(1, "read", "1") I(2, "write", "2") OK(2, "write", "2"));
	check_file_text(t, CHK_VALID, 3);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_concurrent_writes),
		cmocka_unit_test(test_read_of_inflight_write),
		cmocka_unit_test(test_failed_write_seen),
		cmocka_unit_test(test_info_write_both_readings),
		cmocka_unit_test(test_cas_mismatch_observation),
		cmocka_unit_test(test_initial_and_absent),
		cmocka_unit_test(test_rules_rejected),
		cmocka_unit_test(test_process_numbers),
		cmocka_unit_test(test_kv_keys_and_counterexample),
		cmocka_unit_test(test_linearized_order),
		cmocka_unit_test(test_stale_read_sentence),
		cmocka_unit_test(test_changed_read_invalid),
		cmocka_unit_test(test_set_model),
		cmocka_unit_test(test_list_model),
		cmocka_unit_test(test_list_search_memo),
		cmocka_unit_test(test_mutex_model),
		cmocka_unit_test(test_multi_register_model),
		cmocka_unit_test(test_timeout_unknown),
		cmocka_unit_test(test_key_timeout_unknown),
		cmocka_unit_test(test_memory_cap_unknown),
		cmocka_unit_test(test_hard_small_decided),
		cmocka_unit_test(test_never_written_read),
		cmocka_unit_test(test_value_parse),
		cmocka_unit_test(test_bigint_exact),
		cmocka_unit_test(test_options_extreme),
		cmocka_unit_test(test_kv_tuple_shape),
		cmocka_unit_test(test_concurrent_true_count),
		cmocka_unit_test(test_empty_history_warns),
		cmocka_unit_test(test_value_parse_reasons),
		cmocka_unit_test(test_min_ops),
		cmocka_unit_test(test_file_size_guess_either_way),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
