/* Property test over the random history generator (checker/histgen.h): every history of a
 * simulated linearizable store checks valid, and the same history with one read made stale
 * checks invalid, over many seeds and shapes (keys, concurrency, value ranges, crash and
 * failure rates, initial values). List-append histories (unique elements, decided by
 * inference) check valid, and invalid with each planted anomaly: a stale read, a lost
 * append, an element read twice, two reads disagreeing on the order, a read of an append
 * invoked after it completed, an element never appended. A failing case prints its shape and seed to replay it:
 *   build/tools/histgen --seed S --keys K --concurrency C --ops N ... */
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
#include "lib/err.h"

struct shape {
	const char *name;
	int list; /* the list workload (then values and has_initial do not apply) */
	uint32_t keys, concurrency;
	uint64_t ops;
	uint32_t values; /* 0 = unique */
	double crash, fail;
	int has_initial;
	int seeds;
};

static const struct shape shapes[] = {
	{"unique-c5", 0, 1, 5, 400, 0, 0.05, 0.05, 0, 40},
	{"unique-c20-crashy", 0, 1, 20, 600, 0, 0.3, 0.1, 0, 25},
	{"small-values-c5", 0, 1, 5, 200, 5, 0.05, 0.05, 1, 40},
	{"small-values-c10-crashy", 0, 1, 10, 150, 3, 0.25, 0.1, 1, 30},
	{"etcd-like", 0, 1, 8, 80, 5, 0.2, 0.05, 0, 40},
	{"keys-unique", 0, 16, 10, 2000, 0, 0.1, 0.05, 0, 10},
	{"keys-small-values", 0, 8, 6, 800, 4, 0.1, 0.05, 1, 15},
	/* lists: ops are reads and appends half and half, so appends per key = ops / 2 / keys */
	{"list-1key-c5-100", 1, 1, 5, 200, 0, 0, 0, 0, 12},
	{"list-1key-c50-2000", 1, 1, 50, 4000, 0, 0.2, 0.05, 0, 4},
	{"list-10keys-c50-200", 1, 10, 50, 4000, 0, 0.1, 0.05, 0, 6},
	{"list-100keys-c20-100", 1, 100, 20, 20000, 0, 0.05, 0.05, 0, 3},
	{"list-1000keys-c20-100", 1, 1000, 20, 200000, 0, 0.2, 0, 0, 1},
};

static const enum histgen_inject list_anomalies[] = {
	HISTGEN_INJECT_STALE_READ,  HISTGEN_INJECT_LOST_APPEND,  HISTGEN_INJECT_DUPLICATE,
	HISTGEN_INJECT_ORDER,       HISTGEN_INJECT_FUTURE_READ, HISTGEN_INJECT_NEVER_APPENDED,
};

/* Returns the verdict, or -1 if the generator refused (no read to inject into). */
static int check_one(const struct shape *s, uint64_t seed, enum histgen_inject inject,
		     char *what, size_t n)
{
	struct histgen_opts o;
	histgen_opts_default(&o);
	o.seed = seed;
	o.workload = s->list ? HISTGEN_LIST : HISTGEN_REGISTER;
	o.keys = s->keys;
	o.concurrency = s->concurrency;
	o.ops = s->ops;
	o.values = s->values;
	o.crash_rate = s->crash;
	o.fail_rate = s->fail;
	o.has_initial = s->has_initial;
	o.initial = 0;
	o.inject = inject;
	char *buf = NULL;
	size_t len = 0;
	struct histgen_report rep;
	char err[512];
	int rc = histgen_to_mem(&o, &buf, &len, &rep, err, sizeof err);
	if (rc == SB_EINVAL && inject) {
		free(buf);
		return -1;
	}
	if (rc)
		fail_msg("histgen %s seed %llu: %s", s->name, (unsigned long long)seed, err);
	snprintf(what, n, "%s", rep.inj_what);
	struct chk_options opt = {.model = s->list       ? CHK_MODEL_LIST
					   : s->keys > 1 ? CHK_MODEL_KV
							 : CHK_MODEL_CAS_REGISTER,
				  .threads = 2};
	struct hval *ini = NULL;
	if (s->has_initial)
		assert_int_equal(chk_value_parse("0", &ini, err, sizeof err), 0);
	opt.initial = ini;
	struct hreader *r = NULL;
	assert_int_equal(hreader_open_mem(&r, buf, len, "gen", HFMT_JSONL, err, sizeof err), 0);
	struct chk_result *res = NULL;
	rc = chk_check_reader(r, &opt, "gen", &res, err, sizeof err);
	hreader_close(r);
	chk_value_free(ini);
	free(buf);
	if (rc)
		fail_msg("check %s seed %llu: %s", s->name, (unsigned long long)seed, err);
	int v = (int)res->verdict;
	chk_result_free(res);
	return v;
}

static void test_generated(void **state)
{
	const struct shape *s = *state;
	int injected = 0;
	for (int i = 0; i < s->seeds; i++) {
		uint64_t seed = 1000 + (uint64_t)i * 7919;
		char what[256];
		int v = check_one(s, seed, HISTGEN_INJECT_NONE, what, sizeof what);
		if (v != CHK_VALID)
			fail_msg("%s seed %llu: valid history checked %s", s->name,
				 (unsigned long long)seed, chk_verdict_name((enum chk_verdict)v));
		size_t na = s->list ? sizeof list_anomalies / sizeof list_anomalies[0] : 1;
		for (size_t a = 0; a < na; a++) {
			enum histgen_inject inj = s->list ? list_anomalies[a]
							  : HISTGEN_INJECT_STALE_READ;
			v = check_one(s, seed, inj, what, sizeof what);
			if (v < 0)
				continue;
			injected++;
			if (v != CHK_INVALID)
				fail_msg("%s seed %llu: injected history (%s: %s) checked %s",
					 s->name, (unsigned long long)seed,
					 histgen_inject_name(inj), what,
					 chk_verdict_name((enum chk_verdict)v));
		}
	}
	/* The injection must have happened often enough for the test to mean something. */
	size_t na = s->list ? sizeof list_anomalies / sizeof list_anomalies[0] : 1;
	assert_true(injected >= (int)na * s->seeds / 2);
}

int main(void)
{
	struct CMUnitTest tests[sizeof shapes / sizeof shapes[0]];
	for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
		tests[i] = (struct CMUnitTest){.name = shapes[i].name,
					       .test_func = test_generated,
					       .initial_state = (void *)&shapes[i]};
	}
	return _cmocka_run_group_tests("property", tests, sizeof shapes / sizeof shapes[0], NULL,
				       NULL);
}
