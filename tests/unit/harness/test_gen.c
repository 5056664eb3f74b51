/* Tests for harness/gen: the pure generator driven with a fake clock (the tests pass `now`).
 *
 * Scenarios: determinism of the dry run, the rate and its jitter, the mix, zipf skew, unique
 * values, cas expectations, process renumbering, phases, final reads, gen_stop, and the
 * random fault schedule (intervals, max_concurrent, weights, durations, the main phase's
 * end). Bounds on counts are wide enough that a correct generator meets them for any seed
 * (several standard deviations); the seeds are fixed anyway, so a run replays. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness/gen/gen.h"
#include "lib/clock.h"
#include "lib/err.h"

#define S CLOCK_NS_PER_S
#define MS CLOCK_NS_PER_MS

/* A spec as the parser would give it, built in code: the documented defaults (spec.h). */
static void spec_init(struct spec *s, const char *kind)
{
	memset(s, 0, sizeof *s);
	snprintf(s->name, sizeof s->name, "gen-test");
	snprintf(s->workload.kind, sizeof s->workload.kind, "%s", kind);
	s->workload.rate = 100;
	s->workload.jitter = 0.5;
	s->workload.zipf_s = 1.0;
	s->workload.op_timeout_ns = 5 * S;
	s->time_limit_ns = 30 * S;
	s->recovery_ns = 5 * S;
	s->final_timeout_ns = 30 * S;
	s->final_reads = true;
	s->nemesis.interval_ns = 10 * S;
	s->nemesis.start_after_ns = 10 * S;
	s->nemesis.max_concurrent = 1;
	s->seed = 42;
}

static void add_fault(struct spec *s, const char *kind, double weight, int64_t restart_after,
		      int64_t duration)
{
	struct spec_fault *f = &s->nemesis.faults[s->nemesis.nfaults++];
	memset(f, 0, sizeof *f);
	snprintf(f->kind, sizeof f->kind, "%s", kind);
	f->weight = weight;
	f->restart_after_ns = restart_after;
	f->duration_ns = duration;
	s->nemesis.enabled = true;
}

static struct gen *gen_make(const struct spec *s, uint32_t workers)
{
	struct gen *g = NULL;
	char err[256] = "";
	int rc = gen_new(&g, s, workers, err, sizeof err);
	if (rc)
		fail_msg("gen_new: %d: %s", rc, err);
	return g;
}

/* Ask worker w for an operation at `now` and expect one. */
static struct gen_op next_op(struct gen *g, uint32_t w, int64_t now)
{
	struct gen_op op;
	int64_t wake = -1;
	enum gen_status st = gen_next(g, w, now, &op, &wake);
	if (st != GEN_NEXT)
		fail_msg("worker %u at %" PRId64 ": status %d (wake %" PRId64 "), expected an op", w,
			 now, (int)st, wake);
	assert_true(op.at >= now);
	assert_int_equal(op.worker, w);
	return op;
}

/* Draw n main-phase operations, all by worker 0 completing ok at once (rate 0: no gaps). */
static struct gen_op *draw_ops(const struct spec *s, size_t n)
{
	struct gen *g = gen_make(s, 1);
	struct gen_op *ops = calloc(n, sizeof *ops);
	assert_non_null(ops);
	for (size_t i = 0; i < n; i++) {
		ops[i] = next_op(g, 0, 0);
		gen_complete(g, &ops[i], GEN_OK, 0);
	}
	gen_free(g);
	return ops;
}

/* ---- the dry run ------------------------------------------------------------------------- */

static char *dry(const struct spec *s, uint32_t workers, size_t max_ops)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	char err[256] = "";
	int rc = gen_dry_run(s, workers, max_ops, f, err, sizeof err);
	fclose(f);
	if (rc)
		fail_msg("gen_dry_run: %d: %s", rc, err);
	return buf;
}

static size_t count_lines(const char *text, const char *needle)
{
	size_t n = 0;
	for (const char *p = text; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void test_dry_run_deterministic(void **state)
{
	struct spec s;
	spec_init(&s, "kv");
	add_fault(&s, "kill", 1, 2 * S, 0);
	add_fault(&s, "pause", 1, 0, 3 * S);
	s.time_limit_ns = 60 * S;
	char *a = dry(&s, 6, 40);
	char *b = dry(&s, 6, 40);
	assert_string_equal(a, b);
	/* a header, 40 operations, and one line per fault: ticks from 10 s, 5 to 15 s apart */
	assert_non_null(strstr(a, "# dry run of \"gen-test\": workload kv, 6 workers"));
	assert_int_equal(count_lines(a, "\n"), 3 + 40 + 2 + count_lines(a, " #"));
	assert_true(count_lines(a, " kill #0") > 0 && count_lines(a, " pause #1") > 0);
	assert_true(count_lines(a, " #") >= 4 && count_lines(a, " #") <= 10);
	s.seed = 43;
	char *c = dry(&s, 6, 40);
	assert_string_not_equal(a, c);
	printf("%s", a); /* the test log shows what a dry run looks like */
	free(a);
	free(b);
	free(c);
}

/* A short run prints its phases and final reads: every key once. */
static void test_dry_run_phases(void **state)
{
	struct spec s;
	spec_init(&s, "set");
	s.workload.keys = 3;
	s.time_limit_ns = 100 * MS;
	s.recovery_ns = 50 * MS;
	char *a = dry(&s, 2, 1000);
	const char *heal = strstr(a, "-- phase heal");
	const char *rec = strstr(a, "-- phase recovery");
	const char *fin = strstr(a, "-- phase final");
	assert_non_null(heal);
	assert_non_null(rec);
	assert_non_null(fin);
	assert_true(heal < rec && rec < fin);
	assert_int_equal(count_lines(a, "(final)"), 3);
	assert_non_null(strstr(a, "read k0 (final)"));
	assert_non_null(strstr(a, "read k2 (final)"));
	assert_non_null(strstr(a, "# no random faults"));
	free(a);
}

static void test_new_errors(void **state)
{
	struct spec s;
	struct gen *g = NULL;
	char err[256] = "";
	spec_init(&s, "queue");
	assert_int_equal(gen_new(&g, &s, 4, err, sizeof err), SB_EINVAL);
	assert_non_null(strstr(err, "queue"));
	assert_non_null(strstr(err, "list-append"));
	spec_init(&s, "set");
	s.workload.mix_given = true;
	s.workload.mix.add = 1;
	s.workload.mix.cas = 1;
	assert_int_equal(gen_new(&g, &s, 4, err, sizeof err), SB_EINVAL);
	assert_non_null(strstr(err, "cas"));
	s.workload.mix.cas = 0;
	s.workload.mix.add = 0;
	assert_int_equal(gen_new(&g, &s, 4, err, sizeof err), SB_EINVAL);
	spec_init(&s, "kv");
	assert_int_equal(gen_new(&g, &s, 0, err, sizeof err), SB_EINVAL);
	s.workload.jitter = 1.5;
	assert_int_equal(gen_new(&g, &s, 1, err, sizeof err), SB_EINVAL);
	spec_init(&s, "kv");
	add_fault(&s, "kill", 1, S, 0);
	s.nemesis.interval_ns = 0;
	assert_int_equal(gen_new(&g, &s, 1, err, sizeof err), SB_EINVAL);
	assert_null(g);
}

/* ---- rate -------------------------------------------------------------------------------- */

/* Workers that take 3 ms per operation and ask again at once: the rate, not the workers,
 * decides; every second of the run sees about `rate` invocations. */
static void test_rate(void **state)
{
	struct spec s;
	spec_init(&s, "kv");
	s.workload.rate = 200;
	s.time_limit_ns = 10 * S;
	const uint32_t W = 8;
	struct gen *g = gen_make(&s, W);
	int64_t free_at[8] = {0};
	unsigned per_sec[10] = {0};
	int64_t last_at = -1;
	uint64_t n = 0;
	double min_gap = 1e18, max_gap = 0;
	for (;;) {
		uint32_t w = 0;
		for (uint32_t i = 1; i < W; i++)
			if (free_at[i] < free_at[w])
				w = i;
		if (free_at[w] == INT64_MAX)
			break;
		struct gen_op op;
		int64_t wake = 0;
		enum gen_status st = gen_next(g, w, free_at[w], &op, &wake);
		if (st != GEN_NEXT || gen_phase(g, free_at[w]) != GEN_MAIN) {
			free_at[w] = INT64_MAX; /* the main phase is all this test looks at */
			continue;
		}
		assert_true(op.at < s.time_limit_ns);
		per_sec[op.at / S]++;
		if (last_at >= 0) {
			double gap = (double)(op.at - last_at);
			assert_true(gap >= 0);
			if (gap < min_gap)
				min_gap = gap;
			if (gap > max_gap)
				max_gap = gap;
		}
		last_at = op.at;
		gen_complete(g, &op, GEN_OK, op.at + 3 * MS);
		free_at[w] = op.at + 3 * MS;
		n++;
	}
	for (int i = 0; i < 10; i++)
		if (per_sec[i] < 170 || per_sec[i] > 230)
			fail_msg("second %d: %u invocations, expected about 200", i, per_sec[i]);
	/* gaps 5 ms * (1 +- 0.5) */
	assert_true(min_gap >= 2.5 * MS - 1 && max_gap <= 7.5 * MS + 1);
	assert_true(max_gap - min_gap > 4 * MS); /* jitter is there */
	gen_free(g);
}

/* A worker that asks late gets its operation at once; the next is a gap after that, not a
 * burst to make up for the time nobody asked. */
static void test_rate_no_burst(void **state)
{
	struct spec s;
	spec_init(&s, "kv");
	s.workload.rate = 100;
	s.workload.jitter = 0;
	struct gen *g = gen_make(&s, 2);
	struct gen_op a = next_op(g, 0, 0);
	assert_int_equal(a.at, 0);
	gen_complete(g, &a, GEN_OK, MS);
	/* nobody asks for 5 s */
	struct gen_op b = next_op(g, 0, 5 * S);
	assert_int_equal(b.at, 5 * S);
	struct gen_op c = next_op(g, 1, 5 * S);
	assert_int_equal(c.at, 5 * S + 10 * MS); /* reserved one gap later */
	gen_complete(g, &b, GEN_OK, 5 * S + MS);
	struct gen_op d = next_op(g, 0, 5 * S + MS);
	assert_int_equal(d.at, 5 * S + 20 * MS);
	gen_free(g);
}

/* rate 0: whenever a worker asks. */
static void test_rate_unlimited(void **state)
{
	struct spec s;
	spec_init(&s, "kv");
	s.workload.rate = 0;
	struct gen *g = gen_make(&s, 3);
	for (int i = 0; i < 100; i++) {
		struct gen_op op = next_op(g, (uint32_t)i % 3, 7 * MS);
		assert_int_equal(op.at, 7 * MS);
	}
	gen_free(g);
}

/* ---- content ----------------------------------------------------------------------------- */

static void count_fs(const struct gen_op *ops, size_t n, unsigned *c)
{
	memset(c, 0, OP_NF * sizeof *c);
	for (size_t i = 0; i < n; i++)
		c[ops[i].f]++;
}

static void test_mix(void **state)
{
	const size_t N = 10000;
	unsigned c[OP_NF];
	struct spec s;
	spec_init(&s, "kv"); /* default 1:1:1 */
	s.workload.rate = 0;
	struct gen_op *ops = draw_ops(&s, N);
	count_fs(ops, N, c);
	for (int f = OP_READ; f <= OP_CAS; f++)
		if (c[f] < 3033 || c[f] > 3633)
			fail_msg("%s: %u of %zu", op_f_name((enum op_f)f), c[f], N);
	assert_int_equal(c[OP_ADD] + c[OP_APPEND], 0);
	free(ops);

	s.workload.mix_given = true;
	s.workload.mix = (struct spec_mix){.read = 2, .write = 1, .cas = 1};
	ops = draw_ops(&s, N);
	count_fs(ops, N, c);
	assert_true(c[OP_READ] > 4700 && c[OP_READ] < 5300);
	assert_true(c[OP_WRITE] > 2200 && c[OP_WRITE] < 2800);
	assert_true(c[OP_CAS] > 2200 && c[OP_CAS] < 2800);
	free(ops);

	spec_init(&s, "list-append");
	s.workload.rate = 0;
	ops = draw_ops(&s, N);
	count_fs(ops, N, c);
	assert_true(c[OP_APPEND] > 4700 && c[OP_APPEND] < 5300);
	assert_int_equal(c[OP_APPEND] + c[OP_READ], N);
	free(ops);

	spec_init(&s, "set");
	s.workload.rate = 0;
	s.workload.mix_given = true;
	s.workload.mix = (struct spec_mix){.add = 1};
	ops = draw_ops(&s, 100);
	count_fs(ops, 100, c);
	assert_int_equal(c[OP_ADD], 100);
	free(ops);
}

static void test_keys_uniform_and_zipf(void **state)
{
	const size_t N = 20000;
	unsigned c[8];
	struct spec s;
	spec_init(&s, "kv");
	s.workload.rate = 0;
	s.workload.keys = 8;
	struct gen_op *ops = draw_ops(&s, N);
	memset(c, 0, sizeof c);
	for (size_t i = 0; i < N; i++) {
		assert_true(ops[i].key < 8);
		c[ops[i].key]++;
	}
	for (int k = 0; k < 8; k++)
		assert_true(c[k] > 2200 && c[k] < 2800); /* 2500 each */
	free(ops);

	s.workload.key_dist = SPEC_KEYS_ZIPF;
	s.workload.zipf_s = 1.0;
	ops = draw_ops(&s, N);
	memset(c, 0, sizeof c);
	for (size_t i = 0; i < N; i++)
		c[ops[i].key]++;
	/* P(k) = (1/(k+1)) / H_8: k0 36.8 %, k1 18.4 %, k7 4.6 % */
	assert_true(c[0] > 6900 && c[0] < 7800);
	assert_true(c[1] > 3300 && c[1] < 4100);
	assert_true(c[7] > 700 && c[7] < 1150);
	for (int k = 0; k < 7; k++)
		assert_true(c[k] > c[k + 1]);
	free(ops);

	/* register: one unnamed register whatever `keys` says */
	spec_init(&s, "register");
	s.workload.rate = 0;
	s.workload.keys = 8;
	ops = draw_ops(&s, 200);
	for (size_t i = 0; i < 200; i++)
		assert_int_equal(ops[i].key, 0);
	free(ops);
}

/* Values are unique per key: a counter from 1 for the writes, cas' new values, adds and
 * appends of that key. */
static void test_unique_values(void **state)
{
	const char *kinds[] = {"register", "kv", "set", "list-append"};
	for (size_t t = 0; t < 4; t++) {
		struct spec s;
		spec_init(&s, kinds[t]);
		s.workload.rate = 0;
		s.workload.key_dist = SPEC_KEYS_ZIPF;
		const size_t N = 5000;
		struct gen_op *ops = draw_ops(&s, N);
		int64_t next[8] = {0};
		for (size_t i = 0; i < N; i++) {
			assert_int_equal(ops[i].seq, i);
			if (ops[i].f == OP_READ) {
				assert_int_equal(ops[i].value, 0);
				continue;
			}
			assert_true(ops[i].key < 8);
			if (ops[i].value != next[ops[i].key] + 1)
				fail_msg("%s op %zu: key %u value %" PRId64 ", expected %" PRId64,
					 kinds[t], i, ops[i].key, ops[i].value,
					 next[ops[i].key] + 1);
			next[ops[i].key] = ops[i].value;
		}
		free(ops);
	}
}

/* A cas expects the last value issued for its key (write or cas); on a key with none it is
 * a write. */
static void test_cas_expectations(void **state)
{
	struct spec s;
	spec_init(&s, "kv");
	s.workload.rate = 0;
	s.workload.keys = 4;
	s.workload.mix_given = true;
	s.workload.mix = (struct spec_mix){.read = 1, .write = 1, .cas = 2};
	const size_t N = 4000;
	struct gen_op *ops = draw_ops(&s, N);
	int64_t last[4] = {0};
	unsigned cas = 0, first_writes = 0;
	for (size_t i = 0; i < N; i++) {
		const struct gen_op *op = &ops[i];
		if (op->f == OP_CAS) {
			assert_true(last[op->key] != 0);
			assert_int_equal(op->expect, last[op->key]);
			cas++;
		}
		if (op->f == OP_WRITE && last[op->key] == 0)
			first_writes++;
		if (op->f == OP_WRITE || op->f == OP_CAS)
			last[op->key] = op->value;
	}
	assert_int_equal(first_writes, 4);
	assert_true(cas > 1700);
	free(ops);

	/* cas alone: the first operation on each key becomes a write, the rest chain */
	s.workload.mix = (struct spec_mix){.cas = 1};
	ops = draw_ops(&s, 100);
	memset(last, 0, sizeof last);
	for (size_t i = 0; i < 100; i++) {
		if (last[ops[i].key] == 0) {
			assert_int_equal(ops[i].f, OP_WRITE);
		} else {
			assert_int_equal(ops[i].f, OP_CAS);
			assert_int_equal(ops[i].expect, last[ops[i].key]);
			assert_int_equal(ops[i].value, ops[i].expect + 1);
		}
		last[ops[i].key] = ops[i].value;
	}
	free(ops);
}

/* The k-th operation's content is the same whichever worker takes it and whenever. */
static void test_content_independent_of_workers(void **state)
{
	struct spec s;
	spec_init(&s, "kv");
	struct gen_op *one = NULL;
	{
		struct spec s0 = s;
		s0.workload.rate = 0;
		one = draw_ops(&s0, 300);
	}
	struct gen *g = gen_make(&s, 5);
	int64_t now = 0;
	for (size_t i = 0; i < 300; i++) {
		uint32_t w = (uint32_t)((i * 7) % 5);
		struct gen_op op = next_op(g, w, now);
		assert_int_equal(op.f, one[i].f);
		assert_int_equal(op.key, one[i].key);
		assert_int_equal(op.value, one[i].value);
		assert_int_equal(op.expect, one[i].expect);
		gen_complete(g, &op, (enum gen_outcome)(i % 3), op.at);
		now = op.at + 1;
	}
	gen_free(g);
	free(one);
}

static void test_ops_per_key(void **state)
{
	struct spec s;
	spec_init(&s, "kv");
	s.workload.rate = 0;
	s.workload.keys = 2;
	s.workload.ops_per_key = 5;
	const size_t N = 1000;
	struct gen_op *ops = draw_ops(&s, N);
	unsigned per_key[1000] = {0};
	uint32_t max_key = 0;
	for (size_t i = 0; i < N; i++) {
		assert_true(ops[i].key < 1000);
		per_key[ops[i].key]++;
		if (ops[i].key > max_key)
			max_key = ops[i].key;
	}
	/* 1000 ops over keys of 5 ops each: about 200 keys, 2 of them in use at a time */
	assert_true(max_key >= 198 && max_key <= 201);
	for (uint32_t k = 0; k <= max_key; k++)
		assert_true(per_key[k] <= 5);
	/* a key is retired after its 5th operation and never used again; 2 keys are in use at
	 * any time */
	unsigned seen[1000] = {0};
	for (size_t i = 0; i < N; i++) {
		seen[ops[i].key]++;
		unsigned open = 0;
		for (uint32_t k = 0; k <= max_key; k++)
			if (seen[k] > 0 && seen[k] < 5)
				open++;
		assert_true(open <= 2);
	}
	free(ops);
}

/* ---- processes --------------------------------------------------------------------------- */

static void test_process_renumbering(void **state)
{
	struct spec s;
	spec_init(&s, "kv");
	s.workload.rate = 0;
	const uint32_t W = 5;
	struct gen *g = gen_make(&s, W);
	for (uint32_t w = 0; w < W; w++) {
		struct gen_op op = next_op(g, w, 0);
		assert_int_equal(op.process, w);
		gen_complete(g, &op, w == 2 ? GEN_INFO : w == 3 ? GEN_FAIL : GEN_OK, 0);
	}
	struct gen_op op = next_op(g, 2, 0);
	assert_int_equal(op.process, 7); /* 2 + 5 */
	gen_complete(g, &op, GEN_INFO, 0);
	op = next_op(g, 2, 0);
	assert_int_equal(op.process, 12);
	gen_complete(g, &op, GEN_OK, 0);
	op = next_op(g, 2, 0);
	assert_int_equal(op.process, 12);
	gen_complete(g, &op, GEN_OK, 0);
	op = next_op(g, 3, 0); /* fail does not renumber */
	assert_int_equal(op.process, 3);
	gen_complete(g, &op, GEN_OK, 0);
	op = next_op(g, 0, 0);
	assert_int_equal(op.process, 0);
	gen_complete(g, &op, GEN_OK, 0);
	struct gen_stats st;
	gen_stats(g, &st);
	assert_int_equal(st.invoked, 10);
	assert_int_equal(st.ok, 7);
	assert_int_equal(st.fail, 1);
	assert_int_equal(st.info, 2);
	assert_int_equal(st.final_pending, 0); /* kv has no final reads */
	gen_free(g);
}

/* ---- phases ------------------------------------------------------------------------------ */

static void expect_wait(struct gen *g, uint32_t w, int64_t now, int64_t want_wake)
{
	struct gen_op op;
	int64_t wake = 0;
	enum gen_status st = gen_next(g, w, now, &op, &wake);
	if (st != GEN_WAIT)
		fail_msg("at %" PRId64 ": status %d, expected wait", now, (int)st);
	assert_int_equal(wake, want_wake);
}

static void expect_done(struct gen *g, uint32_t w, int64_t now)
{
	struct gen_op op;
	int64_t wake = 0;
	assert_int_equal(gen_next(g, w, now, &op, &wake), GEN_DONE);
}

static void test_phases(void **state)
{
	struct spec s;
	spec_init(&s, "set");
	s.workload.keys = 2;
	s.workload.rate = 10;
	s.workload.jitter = 0;
	s.time_limit_ns = 1 * S;
	s.recovery_ns = 2 * S;
	struct gen *g = gen_make(&s, 2);
	assert_string_equal(gen_phase_name(GEN_MAIN), "main");
	assert_int_equal(gen_phase(g, 0), GEN_MAIN);
	assert_int_equal(gen_phase(g, S - 1), GEN_MAIN);
	/* the operation due at 1 s falls after the main phase: wait for its end */
	struct gen_op op = next_op(g, 0, 950 * MS);
	assert_int_equal(op.at, 950 * MS);
	gen_complete(g, &op, GEN_OK, 960 * MS);
	expect_wait(g, 0, 960 * MS, S);
	/* HEAL until the interpreter says it healed, however long that takes */
	assert_int_equal(gen_phase(g, S), GEN_HEAL);
	assert_int_equal(gen_phase(g, 100 * S), GEN_HEAL);
	expect_wait(g, 1, 7 * S, INT64_MAX);
	gen_healed(g, 7 * S);
	assert_int_equal(gen_phase(g, 7 * S), GEN_RECOVERY);
	op = next_op(g, 1, 7 * S);
	assert_int_equal(op.at, 7 * S);
	assert_false(op.final);
	assert_int_equal(gen_phase(g, 9 * S - 1), GEN_RECOVERY);
	assert_int_equal(gen_phase(g, 9 * S), GEN_FINAL);
	gen_complete(g, &op, GEN_OK, 7 * S);
	/* recovery operations stop before its end */
	op = next_op(g, 1, 8 * S + 950 * MS);
	gen_complete(g, &op, GEN_OK, 8 * S + 960 * MS);
	expect_wait(g, 1, 8 * S + 960 * MS, 9 * S);
	/* final reads: one per key, then done */
	struct gen_op f0 = next_op(g, 0, 9 * S);
	struct gen_op f1 = next_op(g, 1, 9 * S);
	assert_true(f0.final && f1.final);
	assert_int_equal(f0.f, OP_READ);
	assert_int_equal(f0.key, 0);
	assert_int_equal(f1.key, 1);
	gen_complete(g, &f0, GEN_OK, 9 * S + MS);
	gen_complete(g, &f1, GEN_OK, 9 * S + MS);
	assert_int_equal(gen_phase(g, 9 * S + MS), GEN_DONE_PHASE);
	expect_done(g, 0, 9 * S + MS);
	expect_done(g, 1, 9 * S + MS);
	gen_free(g);
}

/* Final reads are retried after a failure or an unknown outcome, by whichever worker asks,
 * a pause later, until ok. */
static void test_final_retries(void **state)
{
	struct spec s;
	spec_init(&s, "list-append");
	s.workload.keys = 3;
	s.time_limit_ns = S;
	s.recovery_ns = 0;
	struct gen *g = gen_make(&s, 2);
	int64_t t = 2 * S;
	gen_healed(g, t);
	assert_int_equal(gen_phase(g, t), GEN_FINAL);
	struct gen_stats st;
	gen_stats(g, &st);
	assert_int_equal(st.final_pending, 3);
	struct gen_op a = next_op(g, 0, t); /* k0 */
	struct gen_op b = next_op(g, 1, t); /* k1 */
	gen_complete(g, &a, GEN_FAIL, t + MS);
	struct gen_op c = next_op(g, 0, t + MS); /* k2 before the retry of k0 */
	assert_int_equal(c.key, 2);
	gen_complete(g, &b, GEN_INFO, t + 2 * MS);
	gen_complete(g, &c, GEN_OK, t + 2 * MS);
	/* k0 is due again GEN_FINAL_RETRY_NS after its failure */
	expect_wait(g, 1, t + 2 * MS, t + MS + GEN_FINAL_RETRY_NS);
	struct gen_op a2 = next_op(g, 1, t + MS + GEN_FINAL_RETRY_NS);
	assert_int_equal(a2.key, 0);
	assert_int_equal(a2.process, 3); /* worker 1 ended an info: a fresh process */
	/* k1 in flight or pending: worker 0 waits for its retry */
	expect_wait(g, 0, t + MS + GEN_FINAL_RETRY_NS, t + 2 * MS + GEN_FINAL_RETRY_NS);
	struct gen_op b2 = next_op(g, 0, t + 2 * MS + GEN_FINAL_RETRY_NS);
	assert_int_equal(b2.key, 1);
	gen_complete(g, &a2, GEN_OK, t + 3 * MS + GEN_FINAL_RETRY_NS);
	/* one read in flight: nothing to hand out, the phase goes on */
	expect_wait(g, 1, t + 3 * MS + GEN_FINAL_RETRY_NS, t + s.final_timeout_ns);
	assert_int_equal(gen_phase(g, t + 4 * MS + GEN_FINAL_RETRY_NS), GEN_FINAL);
	gen_stats(g, &st);
	assert_int_equal(st.final_pending, 1);
	gen_complete(g, &b2, GEN_OK, t + 4 * MS + GEN_FINAL_RETRY_NS);
	assert_int_equal(gen_phase(g, t + 4 * MS + GEN_FINAL_RETRY_NS), GEN_DONE_PHASE);
	gen_stats(g, &st);
	assert_int_equal(st.final_pending, 0);
	gen_free(g);
}

/* A key that never reads ok: retried until the final timeout, then the run is done. */
static void test_final_timeout(void **state)
{
	struct spec s;
	spec_init(&s, "set");
	s.workload.keys = 1;
	s.time_limit_ns = S;
	s.recovery_ns = S;
	s.final_timeout_ns = 2 * S;
	struct gen *g = gen_make(&s, 1);
	gen_healed(g, S);
	int64_t t = 2 * S, deadline = 4 * S;
	unsigned tries = 0;
	for (;;) {
		struct gen_op op;
		int64_t wake = 0;
		enum gen_status st = gen_next(g, 0, t, &op, &wake);
		if (st == GEN_DONE)
			break;
		if (st == GEN_WAIT) {
			assert_true(wake > t);
			t = wake;
			continue;
		}
		assert_true(op.final && op.at < deadline);
		tries++;
		gen_complete(g, &op, GEN_FAIL, t + 10 * MS);
		t += 10 * MS;
	}
	assert_true(t >= deadline);
	/* 2 s of tries, one every 10 ms + the retry pause */
	assert_int_equal(tries, (unsigned)(2 * S / (10 * MS + GEN_FINAL_RETRY_NS)) + 1);
	assert_int_equal(gen_phase(g, t), GEN_DONE_PHASE);
	gen_free(g);
}

/* No final reads: for workloads without them, or when the spec turns them off. */
static void test_final_off(void **state)
{
	struct spec s;
	spec_init(&s, "kv");
	s.time_limit_ns = S;
	s.recovery_ns = S;
	struct gen *g = gen_make(&s, 1);
	gen_healed(g, S);
	assert_int_equal(gen_phase(g, 2 * S), GEN_DONE_PHASE);
	expect_done(g, 0, 2 * S);
	gen_free(g);
	spec_init(&s, "set");
	s.final_reads = false;
	s.time_limit_ns = S;
	s.recovery_ns = 0;
	g = gen_make(&s, 1);
	gen_healed(g, S);
	assert_int_equal(gen_phase(g, S), GEN_DONE_PHASE);
	gen_free(g);
}

static void test_stop(void **state)
{
	struct spec s;
	spec_init(&s, "set");
	s.workload.keys = 2;
	add_fault(&s, "kill", 1, S, 0);
	struct gen *g = gen_make(&s, 2);
	struct gen_op op = next_op(g, 0, 0);
	gen_complete(g, &op, GEN_OK, MS);
	gen_stop(g, 3 * S, false);
	assert_int_equal(gen_phase(g, 3 * S), GEN_HEAL);
	expect_wait(g, 0, 3 * S, INT64_MAX);
	struct gen_fault f;
	int64_t wake = 0;
	assert_int_equal(gen_next_fault(g, 3 * S, &f, &wake), GEN_DONE); /* first was due at 10 s */
	gen_healed(g, 4 * S);
	/* no recovery after a stop: straight to the final reads */
	assert_int_equal(gen_phase(g, 4 * S), GEN_FINAL);
	struct gen_op r = next_op(g, 1, 4 * S);
	assert_true(r.final);
	/* a second Ctrl-C skips the rest of the final reads */
	gen_stop(g, 5 * S, true);
	assert_int_equal(gen_phase(g, 5 * S), GEN_DONE_PHASE);
	expect_done(g, 0, 5 * S);
	gen_complete(g, &r, GEN_OK, 5 * S);
	gen_free(g);

	/* stop with skip_final right away: heal, then done */
	g = gen_make(&s, 2);
	gen_stop(g, 0, true);
	assert_int_equal(gen_phase(g, 0), GEN_HEAL);
	gen_healed(g, MS);
	assert_int_equal(gen_phase(g, MS), GEN_DONE_PHASE);
	gen_free(g);

	/* stop during recovery ends it */
	g = gen_make(&s, 2);
	gen_healed(g, 30 * S);
	assert_int_equal(gen_phase(g, 31 * S), GEN_RECOVERY);
	gen_stop(g, 31 * S, false);
	assert_int_equal(gen_phase(g, 31 * S), GEN_FINAL);
	gen_free(g);
}

/* ---- the fault schedule ------------------------------------------------------------------ */

/* Run the schedule alone, healing each fault at its `until` (before asking for the next one
 * when the interpreter would have healed it by then). */
static size_t run_faults(struct gen *g, struct gen_fault *out, size_t max)
{
	size_t n = 0;
	int64_t now = 0;
	for (;;) {
		struct gen_fault f;
		int64_t wake = 0;
		enum gen_status st = gen_next_fault(g, now, &f, &wake);
		if (st == GEN_DONE)
			break;
		if (st == GEN_WAIT) {
			/* heal the earliest active fault */
			size_t best = SIZE_MAX;
			for (size_t i = 0; i < n; i++)
				if (out[i].id != UINT64_MAX &&
				    (best == SIZE_MAX || out[i].until < out[best].until))
					best = i;
			assert_true(best != SIZE_MAX);
			gen_fault_healed(g, out[best].id);
			if (out[best].until > now)
				now = out[best].until;
			out[best].id = UINT64_MAX; /* healed marker; ids restored below */
			continue;
		}
		assert_true(n < max);
		assert_int_equal(f.id, n);
		out[n++] = f;
		now = f.at;
	}
	for (size_t i = 0; i < n; i++)
		out[i].id = i;
	return n;
}

static void test_fault_intervals(void **state)
{
	struct spec s;
	spec_init(&s, "kv");
	s.workload.jitter = 0;
	s.nemesis.interval_ns = 10 * S;
	s.nemesis.start_after_ns = 5 * S;
	s.time_limit_ns = 40 * S;
	add_fault(&s, "kill", 1, 2 * S, 0);
	add_fault(&s, "pause", 1, 0, 3 * S);
	struct gen *g = gen_make(&s, 3);
	struct gen_fault f[16];
	size_t n = run_faults(g, f, 16);
	assert_int_equal(n, 4); /* 5, 15, 25, 35 s */
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(f[i].at, (int64_t)(5 + 10 * i) * S);
		/* kill: restart_after; pause: duration */
		int64_t dur = f[i].fault == 0 ? 2 * S : 3 * S;
		assert_int_equal(f[i].until - f[i].at, dur);
	}
	gen_free(g);

	/* with jitter, gaps are interval * (1 +- jitter) and none starts after the main phase */
	s.workload.jitter = 0.5;
	s.time_limit_ns = 2000 * S;
	g = gen_make(&s, 3);
	struct gen_fault *many = calloc(400, sizeof *many);
	n = run_faults(g, many, 400);
	assert_true(n > 150 && n < 250);
	assert_int_equal(many[0].at, 5 * S);
	int64_t lo = INT64_MAX, hi = 0;
	for (size_t i = 1; i < n; i++) {
		int64_t gap = many[i].at - many[i - 1].at;
		lo = gap < lo ? gap : lo;
		hi = gap > hi ? gap : hi;
	}
	assert_true(lo >= 5 * S && hi <= 15 * S);
	assert_true(hi - lo > 5 * S);
	assert_true(many[n - 1].at < s.time_limit_ns);
	gen_free(g);
	free(many);
}

static void test_fault_weights(void **state)
{
	struct spec s;
	spec_init(&s, "kv");
	s.nemesis.interval_ns = S;
	s.nemesis.start_after_ns = 0;
	s.time_limit_ns = 4000 * S;
	add_fault(&s, "kill", 3, 100 * MS, 0);
	add_fault(&s, "pause", 1, 0, 100 * MS);
	add_fault(&s, "partition", 0, 0, 100 * MS); /* weight 0: never */
	struct gen *g = gen_make(&s, 3);
	struct gen_fault *f = calloc(5000, sizeof *f);
	size_t n = run_faults(g, f, 5000);
	unsigned c[3] = {0};
	for (size_t i = 0; i < n; i++)
		c[f[i].fault]++;
	assert_true(n > 3800 && n < 4200); /* 4000 ticks of 1 s +- 0.5 s */
	assert_int_equal(c[2], 0);
	double ratio = (double)c[0] / c[1];
	assert_true(ratio > 2.6 && ratio < 3.4);
	gen_free(g);
	free(f);
}

/* max_concurrent: faults that outlast the interval overlap, but never more than allowed;
 * a tick with every slot taken brings no fault. */
static void test_fault_max_concurrent(void **state)
{
	struct spec s;
	spec_init(&s, "kv");
	s.workload.jitter = 0;
	s.nemesis.interval_ns = S;
	s.nemesis.start_after_ns = S;
	s.time_limit_ns = 100 * S;
	add_fault(&s, "pause", 1, 0, 3500 * MS);
	for (uint32_t mc = 1; mc <= 3; mc++) {
		s.nemesis.max_concurrent = mc;
		struct gen *g = gen_make(&s, 3);
		struct gen_fault f[128];
		size_t n = run_faults(g, f, 128);
		/* at the start of each fault, count those active */
		uint32_t peak = 0;
		for (size_t i = 0; i < n; i++) {
			uint32_t active = 0;
			for (size_t j = 0; j <= i; j++)
				if (f[j].at <= f[i].at && f[i].at < f[j].until)
					active++;
			peak = active > peak ? active : peak;
		}
		assert_int_equal(peak, mc);
		/* one fault per 4 s (mc 1: ticks at 1, 5, 9, ...), 2 per 4 s, 3 per 4 s */
		assert_true(n >= 24 * mc && n <= 25 * mc + 1);
		gen_free(g);
	}
}

/* Healing that lags behind the schedule: the next fault waits for the slot, then starts at
 * once with its own duration. */
static void test_fault_heal_lag(void **state)
{
	struct spec s;
	spec_init(&s, "kv");
	s.workload.jitter = 0;
	s.nemesis.interval_ns = 10 * S;
	s.nemesis.start_after_ns = 10 * S;
	s.time_limit_ns = 60 * S;
	add_fault(&s, "kill", 1, 2 * S, 0);
	struct gen *g = gen_make(&s, 3);
	struct gen_fault a, b;
	int64_t wake = 0;
	assert_int_equal(gen_next_fault(g, 0, &a, &wake), GEN_NEXT);
	assert_int_equal(a.at, 10 * S);
	assert_int_equal(a.until, 12 * S);
	/* not healed yet at 25 s: the fault due at 20 s waits */
	assert_int_equal(gen_next_fault(g, 25 * S, &b, &wake), GEN_WAIT);
	assert_int_equal(wake, INT64_MAX);
	/* asked before it is due: wait until its time */
	assert_int_equal(gen_next_fault(g, 11 * S, &b, &wake), GEN_WAIT);
	assert_int_equal(wake, 20 * S);
	gen_fault_healed(g, a.id);
	gen_fault_healed(g, a.id); /* twice is harmless */
	assert_int_equal(gen_next_fault(g, 26 * S, &b, &wake), GEN_NEXT);
	assert_int_equal(b.id, 1);
	assert_int_equal(b.at, 26 * S);
	assert_int_equal(b.until, 28 * S);
	gen_fault_healed(g, b.id);
	assert_int_equal(gen_next_fault(g, 28 * S, &b, &wake), GEN_NEXT);
	assert_int_equal(b.at, 30 * S); /* back on schedule */
	gen_free(g);
}

static void test_no_faults(void **state)
{
	struct spec s;
	spec_init(&s, "kv");
	struct gen *g = gen_make(&s, 3);
	struct gen_fault f;
	int64_t wake = 0;
	assert_int_equal(gen_next_fault(g, 0, &f, &wake), GEN_DONE);
	gen_free(g);
	/* a fault list that is not enabled */
	add_fault(&s, "kill", 1, S, 0);
	s.nemesis.enabled = false;
	g = gen_make(&s, 3);
	assert_int_equal(gen_next_fault(g, 0, &f, &wake), GEN_DONE);
	gen_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dry_run_deterministic),
		cmocka_unit_test(test_dry_run_phases),
		cmocka_unit_test(test_new_errors),
		cmocka_unit_test(test_rate),
		cmocka_unit_test(test_rate_no_burst),
		cmocka_unit_test(test_rate_unlimited),
		cmocka_unit_test(test_mix),
		cmocka_unit_test(test_keys_uniform_and_zipf),
		cmocka_unit_test(test_unique_values),
		cmocka_unit_test(test_cas_expectations),
		cmocka_unit_test(test_content_independent_of_workers),
		cmocka_unit_test(test_ops_per_key),
		cmocka_unit_test(test_process_renumbering),
		cmocka_unit_test(test_phases),
		cmocka_unit_test(test_final_retries),
		cmocka_unit_test(test_final_timeout),
		cmocka_unit_test(test_final_off),
		cmocka_unit_test(test_stop),
		cmocka_unit_test(test_fault_intervals),
		cmocka_unit_test(test_fault_weights),
		cmocka_unit_test(test_fault_max_concurrent),
		cmocka_unit_test(test_fault_heal_lag),
		cmocka_unit_test(test_no_faults),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
