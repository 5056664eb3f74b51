/* The checker against the plain reference search (tests/support/wglref.h) on generated
 * histories larger than the brute force can try: registers with small and unique value
 * ranges, with and without indeterminate operations, valid and with a stale read; lists of
 * unique elements (decided by inference) and with one element appended twice (searched),
 * valid and with each planted anomaly. Every reduction the checker makes must leave the
 * verdict of the classic algorithm unchanged. A case the reference cannot decide within
 * its limit is skipped (and counted: most must be decided for the test to mean anything).
 * A failing case prints its shape and seed:
 *   build/tools/histgen --seed S ... | build/tools/wglref --model M -   */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "checker/checker.h"
#include "checker/histgen.h"
#include "checker/internal.h"
#include "lib/err.h"
#include "tests/support/wglref.h"

struct shape {
	const char *name;
	enum histgen_workload w;
	uint32_t concurrency;
	uint64_t ops;
	uint32_t values; /* registers: 0 = unique */
	double crash;
	int dup;         /* lists: append one element a second time (the search decides) */
	int seeds;
	uint32_t keys;   /* more than one: registers checked as kv, the keys' events interleaved */
};

static const struct shape shapes[] = {
	/* invalid histories make the reference try every order: they stay small */
	{"register-small-c5", HISTGEN_REGISTER, 5, 300, 5, 0.05, 0, 20, 1},
	{"register-small-c5-info30", HISTGEN_REGISTER, 5, 60, 5, 0.3, 0, 30, 1},
	{"register-small-c10-info15", HISTGEN_REGISTER, 10, 60, 3, 0.15, 0, 30, 1},
	{"register-unique-c10", HISTGEN_REGISTER, 10, 80, 0, 0.1, 0, 30, 1},
	{"list-unique-c10", HISTGEN_LIST, 10, 80, 0, 0.1, 0, 15, 1},
	{"list-dup-c5", HISTGEN_LIST, 5, 200, 0, 0.05, 1, 15, 1},
	/* four keys of about 600 operations each: a key's events are spread over four times as
	 * many positions, so the search orders them by the radix sort, not by a table of its
	 * positions (merge_entries) */
	{"register-keys4-c8", HISTGEN_REGISTER, 8, 2400, 5, 0.05, 0, 6, 4},
};

static const enum histgen_inject list_anomalies[] = {
	HISTGEN_INJECT_NONE,        HISTGEN_INJECT_STALE_READ,  HISTGEN_INJECT_LOST_APPEND,
	HISTGEN_INJECT_DUPLICATE,   HISTGEN_INJECT_ORDER,       HISTGEN_INJECT_FUTURE_READ,
	HISTGEN_INJECT_NEVER_APPENDED,
};
static const enum histgen_inject register_anomalies[] = {HISTGEN_INJECT_NONE,
							 HISTGEN_INJECT_STALE_READ};

/* Returns 1 if compared, 0 if skipped (no injection possible, or the reference undecided). */
static int compare(const struct shape *s, uint64_t seed, enum histgen_inject inj, int *invalid)
{
	struct histgen_opts o;
	histgen_opts_default(&o);
	o.workload = s->w;
	o.seed = seed;
	o.concurrency = s->concurrency;
	o.ops = s->ops;
	o.values = s->values;
	o.crash_rate = s->crash;
	o.has_initial = s->w == HISTGEN_REGISTER;
	o.inject = inj;
	o.keys = s->keys;
	char *buf = NULL, err[512];
	size_t len = 0;
	int rc = histgen_to_mem(&o, &buf, &len, NULL, err, sizeof err);
	if (rc == SB_EINVAL && inj) {
		free(buf);
		return 0;
	}
	if (rc)
		fail_msg("%s seed %llu: %s", s->name, (unsigned long long)seed, err);
	if (s->dup) {
		const char *d = "{\"process\":999999,\"type\":\"invoke\",\"f\":\"append\",\"value\":0}\n";
		buf = realloc(buf, len + strlen(d) + 1);
		assert_non_null(buf);
		memcpy(buf + len, d, strlen(d) + 1);
		len += strlen(d);
	}
	const char *model = s->w == HISTGEN_LIST ? "list" : s->keys > 1 ? "kv" : "cas-register";
	struct hval *ini = NULL;
	if (o.has_initial)
		assert_int_equal(chk_value_parse("0", &ini, err, sizeof err), 0);
	struct wglref_opts ro = {.model = model, .initial = ini, .timeout_s = 1};
	struct wglref_result rr;
	if (wglref_check_mem(buf, len, &ro, &rr, err, sizeof err))
		fail_msg("%s seed %llu: reference: %s", s->name, (unsigned long long)seed, err);
	int compared = 0;
	if (rr.verdict == 2 && getenv("WGLREF_VERBOSE"))
		print_message("%s seed %llu %s: reference undecided\n", s->name,
			      (unsigned long long)seed, histgen_inject_name(inj));
	if (rr.verdict != 2) {
		struct chk_options co = {.initial = ini, .threads = 1};
		assert_int_equal(chk_model_parse(model, &co.model, err, sizeof err), 0);
		struct hreader *r = NULL;
		assert_int_equal(hreader_open_mem(&r, buf, len, "h", HFMT_JSONL, err, sizeof err), 0);
		struct chk_result *res = NULL;
		if (chk_check_reader(r, &co, "h", &res, err, sizeof err))
			fail_msg("%s seed %llu: %s", s->name, (unsigned long long)seed, err);
		hreader_close(r);
		if (getenv("WGLREF_VERBOSE"))
			print_message("%s seed %llu %s: %s (reference %.3f s)\n", s->name,
				      (unsigned long long)seed, histgen_inject_name(inj),
				      chk_verdict_name(res->verdict), rr.seconds);
		if ((int)res->verdict != rr.verdict)
			fail_msg("%s seed %llu inject %s: checker %s, reference %s", s->name,
				 (unsigned long long)seed, histgen_inject_name(inj),
				 chk_verdict_name(res->verdict),
				 chk_verdict_name((enum chk_verdict)rr.verdict));
		*invalid += rr.verdict == 1;
		chk_result_free(res);
		compared = 1;
	}
	chk_value_free(ini);
	free(buf);
	return compared;
}

static void test_shape(void **state)
{
	const struct shape *s = *state;
	const enum histgen_inject *inj = s->w == HISTGEN_LIST ? list_anomalies : register_anomalies;
	size_t ninj = s->w == HISTGEN_LIST ? sizeof list_anomalies / sizeof list_anomalies[0]
					   : sizeof register_anomalies / sizeof register_anomalies[0];
	int tried = 0, compared = 0, invalid = 0;
	for (int i = 0; i < s->seeds; i++)
		for (size_t a = 0; a < ninj; a++) {
			tried++;
			compared += compare(s, 500 + (uint64_t)i * 104729, inj[a], &invalid);
		}
	print_message("%s: %d of %d histories compared, %d invalid\n", s->name, compared, tried,
		      invalid);
	assert_true(compared * 4 >= tried * 3);
	assert_true(invalid > 0 && invalid < compared);
	assert_int_equal(chk_jit_stats.bad_witness, 0);
}

/* `buf` checked as a cas-register history from 0, one thread, a limit (120 s) no healthy run
 * comes near: the tests below assert on verdicts, not on time. */
static struct chk_result *check_register_mem(const char *buf, size_t len)
{
	char err[512];
	struct hval *ini = NULL;
	assert_int_equal(chk_value_parse("0", &ini, err, sizeof err), 0);
	struct chk_options co = {.model = CHK_MODEL_CAS_REGISTER, .initial = ini, .threads = 1,
				 .timeout_s = 120};
	struct hreader *r = NULL;
	assert_int_equal(hreader_open_mem(&r, buf, len, "h", HFMT_JSONL, err, sizeof err), 0);
	struct chk_result *res = NULL;
	if (chk_check_reader(r, &co, "h", &res, err, sizeof err))
		fail_msg("%s", err);
	hreader_close(r);
	chk_value_free(ini);
	return res;
}

/* A generated single-register history starting at 0 (values 0..values-1; crash_rate of the
 * writes and cas end info, fail_rate of all operations fail), into *buf (malloc'd). */
static void gen_register(uint64_t seed, uint32_t concurrency, uint64_t ops, uint32_t values,
			 double crash_rate, double fail_rate, char **buf, size_t *len)
{
	char err[512];
	struct histgen_opts o;
	histgen_opts_default(&o);
	o.seed = seed;
	o.concurrency = concurrency;
	o.ops = ops;
	o.values = values;
	o.crash_rate = crash_rate;
	o.fail_rate = fail_rate;
	o.has_initial = 1;
	*buf = NULL;
	*len = 0;
	assert_int_equal(histgen_to_mem(&o, buf, len, NULL, err, sizeof err), 0);
}

/* Generates a register history (values 0..values-1, initial 0; crash_rate of the writes and
 * cas end info) and checks it: asserts that it is valid and that the just-in-time search
 * decided it. Returns the rounds that search gave up to the classic one first. */
static unsigned long check_generated(uint64_t seed, uint32_t concurrency, uint64_t ops,
				     uint32_t values, double crash_rate)
{
	char *buf;
	size_t len;
	gen_register(seed, concurrency, ops, values, crash_rate, 0.05, &buf, &len);
	unsigned long dec = chk_jit_stats.decided, undec = chk_jit_stats.undecided;
	struct chk_result *res = check_register_mem(buf, len);
	unsigned long given_up = chk_jit_stats.undecided - undec;
	print_message("%u clients x %llu ops, values 0-%u, seed %llu, %.0f%% of writes and cas "
		      "info: %s; rounds given up: %lu\n",
		      concurrency, (unsigned long long)ops, values - 1, (unsigned long long)seed,
		      crash_rate * 100, chk_verdict_name(res->verdict), given_up);
	assert_int_equal(res->verdict, CHK_VALID);
	assert_int_equal(chk_jit_stats.decided - dec, 1);
	assert_int_equal(chk_jit_stats.bad_witness, 0);
	chk_result_free(res);
	free(buf);
	return given_up;
}

/* Many clients, values 0-4 (as Jepsen's etcd tests use): the classic search, and the
 * checker before the just-in-time search, said unknown after 20 s on all three; the
 * just-in-time search decides them (bench/RESULTS.md has the times). The generator's
 * histories are linearizable by construction. The assertions are on the verdict and on
 * which search decided it. */
static void test_many_clients_small_domain(void **state)
{
	check_generated(7, 100, 1000, 5, 0.05);
	check_generated(7, 50, 10000, 5, 0.05);
	check_generated(7, 100, 10000, 5, 0.05);
}

/* Few clients and few indeterminate operations (values 0-4, 10,000 operations, 5% of them
 * indeterminate). The just-in-time search used to try every subset of the indeterminate
 * operations at a completion it could not pass; it gave up its first round on all three
 * (6.0M steps on the first when let run) and the classic search decided them. With the
 * indeterminate operations in canonical runs it decides each in its first round: the test
 * asserts that no round was handed over, not a time. */
static void test_few_indeterminate(void **state)
{
	assert_int_equal(check_generated(7, 5, 10000, 5, 0.1), 0);
	assert_int_equal(check_generated(1, 5, 10000, 5, 0.1), 0);
	assert_int_equal(check_generated(7, 20, 10000, 5, 0.1), 0);
}

/* Ten values, 20-30 clients, 10% of writes and cas indeterminate. An indeterminate write
 * after other indeterminate operations makes them pointless (nothing saw their states), so
 * the just-in-time search does not build such runs. Before, it gave up its first three or
 * four rounds on each of these (they took 0.09-1.0 s); now each is decided in the first. */
static void test_ten_values_indeterminate(void **state)
{
	assert_int_equal(check_generated(2, 30, 2000, 10, 0.1), 0);
	assert_int_equal(check_generated(7, 20, 2000, 10, 0.1), 0);
	assert_int_equal(check_generated(11, 30, 2000, 10, 0.1), 0);
}

/* Fifty clients, ten values, 5% of writes and cas indeterminate. The search met the same
 * acknowledged choices with many subsets of the indeterminate ops linearized, and said
 * unknown after 20 s on these (so does the reference). With dominated configurations cut
 * it decides seeds 11 and 14 in its fifth and sixth rounds (it gave up 6 and more before),
 * and with the failed configurations kept from round to round, seed 7 in its sixth (the
 * seventh without). The rounds' budgets are counted in steps, so the test does not depend
 * on the machine's speed. */
static void test_fifty_clients_ten_values(void **state)
{
	assert_true(check_generated(11, 50, 2000, 10, 0.05) <= 4);
	assert_true(check_generated(14, 50, 2000, 10, 0.05) <= 5);
	assert_true(check_generated(7, 50, 2000, 10, 0.05) <= 5);
}

/* Changes the value of the k-th acknowledged read in buf (one digit) to another of 0..values-1.
 * Returns whether there was one. */
static int alter_read(char *buf, size_t k, uint32_t values)
{
	const char *pat = "\"type\":\"ok\",\"f\":\"read\",\"value\":";
	char *p = buf;
	for (size_t i = 0; (p = strstr(p, pat)) != NULL; i++) {
		p += strlen(pat);
		if (i == k && *p >= '0' && *p <= '9') {
			*p = (char)('0' + (*p - '0' + 1) % (int)values);
			return 1;
		}
	}
	return 0;
}

/* The cut of dominated configurations (jit_dominated() in checker/search.c) must never change
 * a verdict. The brute force's histories are too small to meet it often, so here: 400
 * histories of 4-11 clients x 150 operations, values 0-3 to 0-6, 10-30% of writes and cas
 * indeterminate, three in four with two reads changed (a third of those are invalid), each
 * checked with the cut and without it, and by the reference where it decides in time. Only
 * an "invalid" can be wrong (a "valid" comes with a checked order), so the test counts the
 * histories the just-in-time search showed invalid while cutting configurations. */
static void test_dominance_agrees(void **state)
{
	char err[512];
	struct hval *ini = NULL;
	assert_int_equal(chk_value_parse("0", &ini, err, sizeof err), 0);
	int agreed = 0, invalid = 0, cut_invalid = 0;
	unsigned long cuts = 0;
	for (uint64_t seed = 1; seed <= 400; seed++) {
		uint32_t conc = 4 + (uint32_t)(seed % 8), values = 4 + (uint32_t)(seed % 4);
		double crash = 0.1 + 0.1 * (double)(seed % 3);
		char *buf;
		size_t len;
		gen_register(seed, conc, 150, values, crash, 0.05, &buf, &len);
		if (seed % 4) {
			alter_read(buf, 10 + seed % 40, values);
			alter_read(buf, 60 + seed % 20, values);
		}
		int verdict[2];
		for (int nodom = 0; nodom < 2; nodom++) {
			chk_jit_nodom = nodom;
			unsigned long d0 = chk_jit_stats.dominated,
				      p0 = chk_jit_stats.proved_invalid;
			struct chk_result *res = check_register_mem(buf, len);
			verdict[nodom] = (int)res->verdict;
			chk_result_free(res);
			if (!nodom) {
				unsigned long d = chk_jit_stats.dominated - d0;
				cuts += d;
				cut_invalid += d && chk_jit_stats.proved_invalid != p0;
			}
		}
		chk_jit_nodom = 0;
		struct wglref_opts ro = {.model = "cas-register", .initial = ini, .timeout_s = 5};
		struct wglref_result rr;
		if (wglref_check_mem(buf, len, &ro, &rr, err, sizeof err))
			fail_msg("seed %llu: reference: %s", (unsigned long long)seed, err);
		if (verdict[0] != verdict[1] || (rr.verdict != 2 && rr.verdict != verdict[0]))
			fail_msg("seed %llu (%u clients, values 0-%u, %.0f%% info): with the cut %s, "
				 "without %s, reference %d",
				 (unsigned long long)seed, conc, values - 1, crash * 100,
				 chk_verdict_name((enum chk_verdict)verdict[0]),
				 chk_verdict_name((enum chk_verdict)verdict[1]), rr.verdict);
		agreed++;
		invalid += verdict[0] == CHK_INVALID;
		free(buf);
	}
	chk_value_free(ini);
	print_message("%d histories agreed (%d invalid); %lu configurations cut; %d shown invalid "
		      "by the just-in-time search while cutting\n",
		      agreed, invalid, cuts, cut_invalid);
	assert_true(invalid > 80 && agreed - invalid > 100);
	assert_true(cut_invalid > 50); /* the cut is taken where a wrong one would show */
}

/* An invalid history the classic search cannot decide: `concurrency` clients x 300
 * operations of values 0-3 (linearizable), then, after all of them, a read of 3, a write of 1,
 * a read of 3 again (impossible: nothing writes 3 in between) and a write of 3. The verdict
 * must name the second read. */
static void check_planted(uint32_t concurrency)
{
	const uint64_t ops = 300;
	char *buf;
	size_t len;
	gen_register(5, concurrency, ops, 4, 0, 0, &buf, &len);
	const char *tail = "{\"process\":9999,\"type\":\"invoke\",\"f\":\"read\",\"value\":null}\n"
			   "{\"process\":9999,\"type\":\"ok\",\"f\":\"read\",\"value\":3}\n"
			   "{\"process\":9998,\"type\":\"invoke\",\"f\":\"write\",\"value\":1}\n"
			   "{\"process\":9998,\"type\":\"ok\",\"f\":\"write\",\"value\":1}\n"
			   "{\"process\":9999,\"type\":\"invoke\",\"f\":\"read\",\"value\":null}\n"
			   "{\"process\":9999,\"type\":\"ok\",\"f\":\"read\",\"value\":3}\n"
			   "{\"process\":9998,\"type\":\"invoke\",\"f\":\"write\",\"value\":3}\n"
			   "{\"process\":9998,\"type\":\"ok\",\"f\":\"write\",\"value\":3}\n";
	buf = realloc(buf, len + strlen(tail) + 1);
	assert_non_null(buf);
	memcpy(buf + len, tail, strlen(tail) + 1);
	len += strlen(tail);
	unsigned long before = chk_jit_stats.window_refuted;
	struct chk_result *res = check_register_mem(buf, len);
	print_message("%u clients: %s; %s\n", concurrency, chk_verdict_name(res->verdict),
		      res->keys[0].why ? res->keys[0].why : "");
	assert_int_equal(res->verdict, CHK_INVALID);
	assert_int_equal(chk_jit_stats.window_refuted - before, 1);
	assert_non_null(res->keys[0].bad);
	assert_int_equal(res->keys[0].bad->line, 2 * ops + 5); /* the second read */
	assert_non_null(strstr(res->keys[0].why, "returned 3"));
	assert_non_null(strstr(res->keys[0].why, "whatever value the register held"));
	chk_result_free(res);
	free(buf);
}

/* At 40 clients the just-in-time search alone shows that there is no linearization (the
 * classic search and the reference say unknown after 20 s); at 100 clients it does not within
 * two minutes. A window of the last operations shows it at both. */
static void test_many_clients_invalid(void **state)
{
	check_planted(40);
	check_planted(100);
}

int main(void)
{
	size_t ns = sizeof shapes / sizeof shapes[0];
	struct CMUnitTest tests[sizeof shapes / sizeof shapes[0] + 6];
	for (size_t i = 0; i < ns; i++)
		tests[i] = (struct CMUnitTest){.name = shapes[i].name,
					       .test_func = test_shape,
					       .initial_state = (void *)&shapes[i]};
	tests[ns] = (struct CMUnitTest){.name = "many_clients_small_domain",
					.test_func = test_many_clients_small_domain};
	tests[ns + 1] = (struct CMUnitTest){.name = "many_clients_invalid",
					    .test_func = test_many_clients_invalid};
	tests[ns + 2] = (struct CMUnitTest){.name = "few_indeterminate",
					    .test_func = test_few_indeterminate};
	tests[ns + 3] = (struct CMUnitTest){.name = "ten_values_indeterminate",
					    .test_func = test_ten_values_indeterminate};
	tests[ns + 4] = (struct CMUnitTest){.name = "dominance_agrees",
					    .test_func = test_dominance_agrees};
	tests[ns + 5] = (struct CMUnitTest){.name = "fifty_clients_ten_values",
					    .test_func = test_fifty_clients_ten_values};
	return _cmocka_run_group_tests("reference", tests, ns + 6, NULL, NULL);
}
