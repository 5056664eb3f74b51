/* Tests for harness/check: election safety over log fixtures (tests/fixtures/logs/election),
 * replica agreement (the judge as a table, the polling loop against a scripted db),
 * availability as tables of events and fault windows, reading a history for it, and how the
 * checks reach results.json, the verdict and the exit code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness/check/checks.h"
#include "harness/report/detect.h"
#include "harness/report/results.h"
#include "lib/err.h"
#include "lib/history.h"

#define MS 1000000LL
#define FIXTURES "tests/fixtures/logs/election"

/* ---- election: the pure judge ------------------------------------------------------------ */

static struct election_claim claim(const char *node, uint64_t term, const char *where)
{
	struct election_claim c = {.term = term};
	snprintf(c.node, sizeof c.node, "%s", node);
	snprintf(c.where, sizeof c.where, "%s", where);
	snprintf(c.text, sizeof c.text, "node=%s term=%llu event=became-leader", node,
		 (unsigned long long)term);
	return c;
}

static void test_election_judge_table(void **state)
{
	struct election_result r;
	election_judge(NULL, 0, &r);
	assert_int_equal(r.claims, 0);
	assert_int_equal(r.nviolations, 0);

	/* One leader per term; the same node twice in one term is no violation. */
	struct election_claim ok[] = {claim("n1", 1, "a:1"), claim("n2", 2, "b:1"),
				      claim("n2", 2, "b:1"), claim("n3", 7, "c:3")};
	election_judge(ok, 4, &r);
	assert_int_equal(r.claims, 4);
	assert_int_equal(r.terms, 3);
	assert_int_equal(r.nviolations, 0);

	/* Term 5 has three leaders, term 9 two; they are reported by term, each with the first
	 * claim of the term and the first by another node, in scan order. */
	struct election_claim bad[] = {claim("n2", 9, "b:4"), claim("n1", 5, "a:2"),
				       claim("n1", 5, "a:3"), claim("n3", 5, "c:1"),
				       claim("n2", 5, "b:2"), claim("n1", 9, "a:9"),
				       claim("n1", 6, "a:5")};
	election_judge(bad, 7, &r);
	assert_int_equal(r.terms, 3);
	assert_int_equal(r.nviolations, 2);
	assert_int_equal(r.v[0].term, 5);
	assert_int_equal(r.v[0].nnodes, 3);
	assert_string_equal(r.v[0].a.where, "a:2");
	assert_string_equal(r.v[0].b.where, "c:1");
	assert_int_equal(r.v[1].term, 9);
	assert_string_equal(r.v[1].a.node, "n2");
	assert_string_equal(r.v[1].b.node, "n1");
}

/* ---- election: fixtures through the scanner --------------------------------------------- */

static void scan_fixture(const char *dir, struct election_result *r)
{
	struct election *e = NULL;
	char err[512], path[256], label[64];
	assert_int_equal(election_new(&e, db_raftnode_ops.leader_pattern, err, sizeof err), 0);
	for (int i = 1; i <= 3; i++) {
		snprintf(path, sizeof path, FIXTURES "/%s/n%d/raftnode.log", dir, i);
		snprintf(label, sizeof label, "n%d/raftnode.log", i);
		assert_int_equal(election_scan_file(e, path, label, err, sizeof err), 0);
	}
	size_t n;
	const struct election_claim *c = election_claims(e, &n);
	election_judge(c, n, r);
	election_free(e);
}

static void test_election_fixture_ok(void **state)
{
	struct election_result r;
	scan_fixture("ok", &r);
	/* n1: terms 1, 3, 6; n2: 2, 5, 5; n3: 4. Ignored: became-leaderX, no term, term=abc, a
	 * 21-digit term, binary garbage, the torn last line. */
	assert_int_equal(r.claims, 7);
	assert_int_equal(r.terms, 6);
	assert_int_equal(r.nviolations, 0);
}

static void test_election_fixture_two_leaders(void **state)
{
	struct election_result r;
	scan_fixture("two-leaders", &r);
	assert_int_equal(r.claims, 8);
	assert_int_equal(r.nviolations, 1);
	const struct election_violation *v = &r.v[0];
	assert_int_equal(v->term, 4);
	assert_string_equal(v->a.node, "n1");
	assert_string_equal(v->a.where, "n1/raftnode.log:11");
	assert_string_equal(v->a.text, "2026-11-30T07:59:42.958100Z INFO node=n1 term=4 "
				       "event=became-leader last_index=1498");
	assert_string_equal(v->b.node, "n3");
	assert_string_equal(v->b.where, "n3/raftnode.log:4");
	assert_string_equal(v->b.text, "2026-11-30T07:59:42.960000Z INFO node=n3 term=4 "
				       "event=became-leader last_index=1500");
}

static void test_election_patterns(void **state)
{
	struct election *e = NULL;
	char err[512];
	assert_int_equal(election_new(&e, "event=became-leader", err, sizeof err), SB_EINVAL);
	assert_non_null(strstr(err, "(?<node>...)"));
	assert_int_equal(election_new(&e, "(?<node>x", err, sizeof err), SB_EINVAL);
	assert_int_equal(election_new(&e, NULL, err, sizeof err), SB_EINVAL);
	/* Another system's pattern: `leader is now n2 (term 8)`. */
	assert_int_equal(election_new(&e, "leader is now (?<node>\\w+) \\(term (?<term>\\d+)\\)",
				      err, sizeof err),
			 0);
	static const char text[] = "x leader is now n2 (term 8)\nleader is now n3 (term 8)\n"
				   "leader is now n4 (term 99999999999999999999)\n";
	assert_int_equal(election_scan_buffer(e, "etcd.log", text, sizeof text - 1, err, sizeof err),
			 0);
	size_t n;
	const struct election_claim *c = election_claims(e, &n);
	struct election_result r;
	election_judge(c, n, &r);
	assert_int_equal(r.claims, 2); /* the term past 2^64 is ignored */
	assert_int_equal(r.nviolations, 1);
	assert_string_equal(r.v[0].a.where, "etcd.log:1");
	assert_string_equal(r.v[0].b.where, "etcd.log:2");
	election_free(e);
}

/* ---- agreement ------------------------------------------------------------------------- */

static struct agree_node an(const char *node, bool answered, uint64_t applied, const char *d)
{
	struct agree_node a = {.answered = answered, .applied = applied};
	snprintf(a.node, sizeof a.node, "%s", node);
	snprintf(a.digest, sizeof a.digest, "%s", d);
	return a;
}

static void test_agree_judge_table(void **state)
{
	struct {
		struct agree_node n[3];
		size_t count;
		enum agree_status want;
		uint64_t at;
	} cases[] = {
		{{an("n1", 1, 120, "aa"), an("n2", 1, 120, "aa"), an("n3", 1, 120, "aa")}, 3,
		 AGREE_AGREED, 120},
		{{an("n1", 1, 120, "aa"), an("n2", 1, 120, "bb"), an("n3", 1, 120, "aa")}, 3,
		 AGREE_DIVERGED, 120},
		{{an("n1", 1, 120, "aa"), an("n2", 1, 118, "bb"), an("n3", 1, 120, "aa")}, 3,
		 AGREE_UNCONVERGED, 0},
		/* two at the same index differ, though a third lags: diverged */
		{{an("n1", 1, 120, "aa"), an("n2", 1, 118, "bb"), an("n3", 1, 120, "cc")}, 3,
		 AGREE_DIVERGED, 120},
		{{an("n1", 1, 120, "aa"), an("n2", 0, 0, ""), an("n3", 1, 120, "aa")}, 3,
		 AGREE_UNCONVERGED, 0},
		{{an("n1", 0, 0, ""), an("n2", 0, 0, ""), an("n3", 0, 0, "")}, 3, AGREE_UNCONVERGED, 0},
		{{an("-", 0, 0, "")}, 0, AGREE_UNCONVERGED, 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint64_t at = 0;
		enum agree_status s = agree_judge(cases[i].n, cases[i].count, &at);
		if (s != cases[i].want)
			fail_msg("case %zu: %s, want %s", i, agree_status_name(s),
				 agree_status_name(cases[i].want));
		if (s != AGREE_UNCONVERGED)
			assert_int_equal(at, cases[i].at);
	}
}

/* A scripted cluster: node i reports applied[round][i] (0: not answering). */
static uint64_t script[4][3];
static unsigned script_rounds, script_calls;

static int fake_digest(struct db *db, size_t i, uint64_t *applied, char *digest, size_t dlen,
		       char *err, size_t errlen)
{
	unsigned round = script_calls++ / 3;
	if (round >= script_rounds)
		round = script_rounds - 1;
	if (!script[round][i])
		return err_set(err, errlen, SB_EIO, "connection refused");
	*applied = script[round][i];
	snprintf(digest, dlen, "%s", i == 2 && script[round][i] == 99 ? "bad" : "good");
	return 0;
}

static void fake_db(struct db *db, struct db_node *nodes, struct db_ops *ops)
{
	*ops = db_raftnode_ops;
	ops->digest = fake_digest;
	memset(nodes, 0, 3 * sizeof *nodes);
	for (int i = 0; i < 3; i++) {
		snprintf(nodes[i].name, sizeof nodes[i].name, "n%d", i + 1);
		snprintf(nodes[i].dir, sizeof nodes[i].dir, "/nonexistent/n%d", i + 1);
	}
	memset(db, 0, sizeof *db);
	db->ops = ops;
	db->nodes = nodes;
	db->n = 3;
}

static void test_agree_run(void **state)
{
	struct db db;
	struct db_node nodes[3];
	struct db_ops ops;
	struct agree_result r;
	fake_db(&db, nodes, &ops);

	/* Converges on the third round. */
	uint64_t conv[3][3] = {{10, 0, 8}, {12, 11, 12}, {12, 12, 12}};
	memcpy(script, conv, sizeof conv);
	script_rounds = 3;
	script_calls = 0;
	agree_run(&db, 60 * 1000 * MS, &r);
	assert_int_equal(r.status, AGREE_AGREED);
	assert_int_equal(r.rounds, 3);
	assert_int_equal(r.applied, 12);

	/* A time limit of 0 asks once: unconverged, and the reason names each node. */
	script_calls = 0;
	agree_run(&db, 0, &r);
	assert_int_equal(r.status, AGREE_UNCONVERGED);
	assert_int_equal(r.rounds, 1);
	assert_string_equal(r.reason, "n1 at 10, n2 not answering (connection refused), n3 at 8");

	/* Two at index 99 with different digests: diverged at once. */
	uint64_t div[1][3] = {{99, 98, 99}};
	memcpy(script, div, sizeof div);
	script_rounds = 1;
	script_calls = 0;
	agree_run(&db, 60 * 1000 * MS, &r);
	assert_int_equal(r.status, AGREE_DIVERGED);
	assert_int_equal(r.applied, 99);

	ops.digest = NULL;
	agree_run(&db, 0, &r);
	assert_int_equal(r.status, AGREE_SKIPPED);
	assert_non_null(strstr(r.reason, "no state digest"));
}

/* ---- availability as tables ------------------------------------------------------------ */

#define W(inv, comp, ok) {(inv) * MS, (comp) * MS, (ok), true}
#define R(inv, comp, ok) {(inv) * MS, (comp) * MS, (ok), false}

/* One kill from 10 ms to 20 ms, the run's operations end at 30 ms. */
static const struct avail_op ops_kill[] = {
	W(5, 6, true),    /* before */
	W(9, 15, true),   /* invoked before the fault: not in its window, not its recovery */
	W(11, 16, false), /* info */
	R(12, 13, true),  /* a read: counts in the share, not for recovery */
	W(13, 18, true),
	W(14, 17, true),  /* invoked later but acknowledged first: recovery 7 ms */
	W(19, 19, false),
	W(21, 22, true),  /* after */
	W(23, 24, true),  /* a cas refused with mismatch counts as succeeded */
	W(40, 41, false), /* a final read's time: counts nowhere */
};

struct avail_case {
	const char *name;
	const struct avail_op *ops;
	size_t nops;
	struct avail_fault f[3];
	size_t nf;
	int64_t end;
	struct avail_limits lim;
	enum avail_verdict verdict;
	/* per window: during ops/ok, after ops/ok, recover (ms, -1 never), failed bits */
	struct {
		uint64_t dops, dok, aops, aok;
		int64_t rec_ms;
		unsigned failed;
	} w[3];
	uint64_t all_ops, all_ok;
	bool by_writes;
};

static const struct avail_op ops_reads[] = {
	R(1, 2, true), R(11, 14, false), R(12, 13, true), R(13, 14, false), R(16, 17, true),
	R(26, 27, false),
};

static const struct avail_op ops_dead[] = {
	W(1, 2, true), W(11, 12, false), W(13, -1, false), R(14, 15, true),
};

static const struct avail_case avail_cases[] = {
	{"recovery too slow", ops_kill, 10, {{10 * MS, 20 * MS, 0}}, 1, 30 * MS,
	 {.recover_within_ns = 5 * MS, .min_ok_share = 0.5, .min_recovery_ok_share = 0.9},
	 AVAIL_FAILED, {{5, 3, 2, 2, 7, AVAIL_FAIL_RECOVER}}, 9, 7, true},
	{"thresholds met", ops_kill, 10, {{10 * MS, 20 * MS, 0}}, 1, 30 * MS,
	 {.recover_within_ns = 7 * MS, .min_ok_share = 0.6, .min_recovery_ok_share = 1},
	 AVAIL_MET, {{5, 3, 2, 2, 7, 0}}, 9, 7, true},
	{"share too low", ops_kill, 10, {{10 * MS, 20 * MS, 0}}, 1, 30 * MS,
	 {.min_ok_share = 0.61}, AVAIL_FAILED, {{5, 3, 2, 2, 7, AVAIL_FAIL_DURING}}, 9, 7, true},
	{"no thresholds", ops_kill, 10, {{10 * MS, 20 * MS, 0}}, 1, 30 * MS, {0}, AVAIL_NOT_CHECKED,
	 {{5, 3, 2, 2, 7, 0}}, 9, 7, true},
	/* The kill took 4.5 ms to be done: the writes acknowledged meanwhile (by the old leader)
	 * do not count; the first one invoked after is acknowledged 12 ms after the start. */
	{"in force later", ops_kill, 10, {{10 * MS, 20 * MS, 14 * MS + MS / 2}}, 1, 30 * MS,
	 {.recover_within_ns = 11 * MS}, AVAIL_FAILED, {{5, 3, 2, 2, 12, AVAIL_FAIL_RECOVER}}, 9, 7,
	 true},
	/* No write at all: recovery by any operation. The second fault is never healed: its
	 * window lasts to the end, no recovery period; the first one's recovery ends where the
	 * second begins. */
	{"reads only, unhealed", ops_reads, 6, {{10 * MS, 12 * MS, 0}, {15 * MS, -1, 0}}, 2, 30 * MS,
	 {.min_recovery_ok_share = 0.9}, AVAIL_FAILED,
	 {{1, 0, 2, 1, 3, AVAIL_FAIL_AFTER}, {2, 1, 0, 0, 2, 0}}, 6, 3, false},
	/* Nothing acknowledged after the fault: never recovered. A window without operations
	 * has no share to fail. */
	{"never recovers", ops_dead, 4, {{10 * MS, 20 * MS, 0}, {25 * MS, 28 * MS, 0}}, 2, 30 * MS,
	 {.recover_within_ns = 100 * MS, .min_ok_share = 0.5}, AVAIL_FAILED,
	 {{3, 1, 0, 0, -1, AVAIL_FAIL_RECOVER | AVAIL_FAIL_DURING},
	  {0, 0, 0, 0, -1, AVAIL_FAIL_RECOVER}}, 4, 2, true},
};

static void test_availability_tables(void **state)
{
	for (size_t c = 0; c < sizeof avail_cases / sizeof avail_cases[0]; c++) {
		const struct avail_case *k = &avail_cases[c];
		struct avail_result r;
		assert_int_equal(avail_compute(k->ops, k->nops, k->f, k->nf, k->end, &k->lim, &r), 0);
		if (r.verdict != k->verdict)
			fail_msg("%s: verdict %s, want %s", k->name, avail_verdict_name(r.verdict),
				 avail_verdict_name(k->verdict));
		assert_int_equal(r.n, k->nf);
		assert_int_equal(r.all.ops, k->all_ops);
		assert_int_equal(r.all.ok, k->all_ok);
		assert_int_equal(r.by_writes, k->by_writes);
		for (size_t i = 0; i < k->nf; i++) {
			const struct avail_window *w = &r.w[i];
			if (w->during.ops != k->w[i].dops || w->during.ok != k->w[i].dok ||
			    w->after.ops != k->w[i].aops || w->after.ok != k->w[i].aok ||
			    w->failed != k->w[i].failed ||
			    w->recover_ns != (k->w[i].rec_ms < 0 ? -1 : k->w[i].rec_ms * MS))
				fail_msg("%s, window %zu: during %llu/%llu after %llu/%llu recover "
					 "%lld failed %u",
					 k->name, i, (unsigned long long)w->during.ok,
					 (unsigned long long)w->during.ops,
					 (unsigned long long)w->after.ok,
					 (unsigned long long)w->after.ops, (long long)w->recover_ns,
					 w->failed);
		}
		avail_result_free(&r);
	}
}

static void test_availability_spans(void **state)
{
	struct avail_result r;
	struct avail_fault f[2] = {{10 * MS, 20 * MS, 0}, {25 * MS, -1, 0}};
	assert_int_equal(avail_compute(ops_kill, 10, f, 2, 30 * MS, NULL, &r), 0);
	assert_int_equal(r.w[0].after.start_ns, 20 * MS);
	assert_int_equal(r.w[0].after.end_ns, 25 * MS); /* up to the next fault */
	assert_int_equal(r.w[1].during.end_ns, 30 * MS);
	assert_int_equal(r.w[1].after.start_ns, -1);
	assert_true(avail_share(&r.w[1].during) < 0); /* no operation in it */
	assert_int_equal(r.max_recover_ns, -1);     /* the second never saw a write */
	avail_result_free(&r);
	assert_int_equal(avail_compute(ops_kill, 10, NULL, 0, 30 * MS, NULL, &r), 0);
	assert_int_equal(r.n, 0);
	assert_int_equal(r.max_recover_ns, 0);
	avail_result_free(&r);
}

/* Each fault takes the first info event of its start kind at or after its start, after the
 * one the previous fault took; heals and other kinds in between are passed over. */
static void test_availability_match_starts(void **state)
{
	static const struct avail_nemesis ev[] = {
		{1 * MS, "kill"},  /* before the first fault: not its */
		{10 * MS, "pause"}, /* another kind */
		{12 * MS, "kill"},
		{15 * MS, "start"}, /* the kill's heal */
		{20 * MS, "kill"},
		{31 * MS, "partition"},
	};
	const char *const kinds[] = {"kill", "kill", "partition", "pause", NULL};
	struct avail_fault f[5] = {{.start_ns = 5 * MS}, {.start_ns = 11 * MS},
				   {.start_ns = 30 * MS}, {.start_ns = 40 * MS},
				   {.start_ns = 50 * MS}};
	avail_match_starts(ev, 6, kinds, f, 5);
	assert_int_equal(f[0].in_force_ns, 12 * MS);
	assert_int_equal(f[1].in_force_ns, 20 * MS);
	assert_int_equal(f[2].in_force_ns, 31 * MS);
	assert_int_equal(f[3].in_force_ns, 40 * MS); /* no event left: its start */
	assert_int_equal(f[4].in_force_ns, 50 * MS);
	avail_match_starts(NULL, 0, kinds, f, 1);
	assert_int_equal(f[0].in_force_ns, 5 * MS);
}

static char tmpdir[64];

static int setup(void **state)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/test_checks.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static const char history[] =
	"{\"index\":0,\"time\":1000000,\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"key\":\"k1\",\"value\":1}\n"
	"{\"index\":1,\"time\":900000,\"process\":1,\"type\":\"invoke\",\"f\":\"read\",\"key\":\"k1\",\"value\":null}\n"
	"{\"index\":2,\"time\":2000000,\"process\":\"nemesis\",\"type\":\"info\",\"f\":\"kill\",\"value\":{\"nodes\":[\"n1\"]}}\n"
	"{\"index\":3,\"time\":3000000,\"process\":0,\"type\":\"ok\",\"f\":\"write\",\"key\":\"k1\",\"value\":1}\n"
	"{\"index\":4,\"time\":3500000,\"process\":1,\"type\":\"fail\",\"f\":\"read\",\"key\":\"k1\",\"value\":null,\"error\":\"refused\"}\n"
	"{\"index\":5,\"time\":4000000,\"process\":0,\"type\":\"invoke\",\"f\":\"cas\",\"key\":\"k1\",\"value\":[1,2]}\n"
	"{\"index\":6,\"time\":4500000,\"process\":0,\"type\":\"fail\",\"f\":\"cas\",\"key\":\"k1\",\"value\":[1,2],\"error\":\"mismatch\"}\n"
	"{\"index\":7,\"time\":5000000,\"process\":2,\"type\":\"invoke\",\"f\":\"write\",\"key\":\"k1\",\"value\":2}\n";

static void test_availability_history(void **state)
{
	char path[128], err[512];
	snprintf(path, sizeof path, "%s/history.jsonl", tmpdir);
	write_file(path, history);
	struct avail_op *ops = NULL;
	struct avail_nemesis *nem = NULL;
	size_t n = 0, nn = 0;
	assert_int_equal(avail_read_history(path, &ops, &n, &nem, &nn, err, sizeof err), 0);
	assert_int_equal(nn, 1);
	assert_int_equal(nem[0].time_ns, 2000000);
	assert_string_equal(nem[0].f, "kill");
	free(nem);
	assert_int_equal(n, 4);
	/* sorted by invocation: the read stamped 0.9 ms comes first */
	assert_int_equal(ops[0].invoke_ns, 900000);
	assert_false(ops[0].write);
	assert_false(ops[0].ok);
	assert_int_equal(ops[1].complete_ns, 3000000);
	assert_true(ops[1].ok && ops[1].write);
	assert_true(ops[2].ok); /* cas refused with mismatch: answered */
	assert_int_equal(ops[3].complete_ns, -1);
	assert_false(ops[3].ok);
	free(ops);

	write_file(path, "{\"process\":-5,\"type\":\"invoke\",\"f\":\"read\"}\n");
	assert_true(avail_read_history(path, &ops, &n, NULL, NULL, err, sizeof err) < 0);
	snprintf(path, sizeof path, "%s/missing.jsonl", tmpdir);
	assert_true(avail_read_history(path, &ops, &n, NULL, NULL, err, sizeof err) < 0);
	assert_non_null(strstr(err, "missing.jsonl"));
}

/* ---- through a run's store: results.json, verdict, exit ------------------------------- */

/* A store laid out as a run leaves it: the fixture's node logs and a history. */
static void make_store(const char *fixture, char *store, size_t n)
{
	char cmd[512];
	snprintf(store, n, "%s/store-%s", tmpdir, fixture);
	snprintf(cmd, sizeof cmd, "mkdir -p '%s' && cp -r " FIXTURES "/%s/n1 " FIXTURES
		 "/%s/n2 " FIXTURES "/%s/n3 '%s'/",
		 store, fixture, fixture, fixture, store);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof cmd, "%s/history.jsonl", store);
	write_file(cmd, history);
}

static void run_checks(const char *fixture, struct checks *c, struct spec *spec,
		       struct nemesis_act *act, char *store, size_t storelen)
{
	struct db db;
	struct db_node nodes[3];
	struct db_ops ops;
	fake_db(&db, nodes, &ops);
	make_store(fixture, store, storelen);
	char hist[512];
	snprintf(hist, sizeof hist, "%s/history.jsonl", store);
	memset(c, 0, sizeof *c);
	uint64_t conv[1][3] = {{12, 12, 12}};
	memcpy(script, conv, sizeof conv);
	script_rounds = 1;
	script_calls = 0;
	checks_agreement(c, &db, NULL, 0);
	*act = (struct nemesis_act){.id = 0, .started = 2 * MS, .healed = true,
				    .healed_at = 3 * MS};
	snprintf(act->desc, sizeof act->desc, "kill n1");
	struct checks_input in = {.db = &db, .store_dir = store, .history_path = hist,
				  .spec = spec, .faults = act, .nfaults = 1, .end_ns = 10 * MS,
				  .ran = true};
	checks_after_run(c, &in);
}

/* A fixture store's checks under a default spec named "t", with what the checks point to
 * (they keep the fault), in one place. */
struct fixture_run {
	struct spec spec;
	struct checks c;
	struct nemesis_act act;
	char store[256];
};

static void check_fixture(struct fixture_run *f, const char *fixture)
{
	spec_defaults(&f->spec);
	snprintf(f->spec.name, sizeof f->spec.name, "t");
	run_checks(fixture, &f->c, &f->spec, &f->act, f->store, sizeof f->store);
}

static struct hval *results_of(struct report_run *rr)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	assert_int_equal(report_results_json(rr, f), 0);
	fclose(f);
	struct hval *v = NULL;
	char err[256];
	if (hval_parse_json(text, len, &v, err, sizeof err))
		fail_msg("results.json does not parse: %s\n%s", err, text);
	free(text);
	return v;
}

static const struct hval *jget(const struct hval *obj, const char *name)
{
	for (uint32_t i = 0; obj && obj->kind == HVAL_MAP && i < obj->len; i++)
		if (!strcmp(obj->u.items[2 * i].u.s, name))
			return &obj->u.items[2 * i + 1];
	return NULL;
}

/* The report of a run whose history is valid (res, which must outlive the report) and whose
 * own checks c found something: report_verdict must make it invalid, exit 1. */
static struct report_run invalid_by_checks(struct spec *spec, const char *store,
					   struct checks *c, struct chk_result *res)
{
	*res = (struct chk_result){.verdict = CHK_VALID, .model = CHK_MODEL_KV};
	struct report_run rr = {.spec = spec, .store_dir = store, .check = res, .checks = c,
				.as_written = -1, .verdict = "", .model = "kv"};
	report_verdict(&rr);
	assert_string_equal(rr.verdict, "invalid");
	assert_int_equal(rr.exit, 1);
	return rr;
}

/* What the user reads: the run's summary, then junit.xml (the caller frees it). */
static char *summary_and_junit(const struct report_run *rr)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	assert_non_null(f);
	report_summary(rr, f);
	report_junit(rr, f);
	fclose(f);
	return text;
}

static void test_store_two_leaders(void **state)
{
	(void)state;
	struct fixture_run f;
	check_fixture(&f, "two-leaders");
	assert_int_equal(f.c.election_status, ELECTION_VIOLATED);
	assert_int_equal(f.c.election_files, 3);
	assert_int_equal(f.c.agreement.status, AGREE_AGREED);
	assert_int_equal(f.c.availability.verdict, AVAIL_NOT_CHECKED);
	assert_int_equal(checks_anomalies(&f.c), 1);

	/* The history alone is valid: the checks make the run invalid. */
	struct chk_result res;
	struct report_run rr = invalid_by_checks(&f.spec, f.store, &f.c, &res);

	struct hval *v = results_of(&rr);
	const struct hval *an = jget(v, "anomalies");
	assert_non_null(an);
	assert_int_equal(an->len, 1);
	const struct hval *a = &an->u.items[0];
	assert_string_equal(jget(a, "kind")->u.s, "election-safety");
	assert_int_equal(jget(a, "term")->u.i, 4);
	const struct hval *lines = jget(a, "lines");
	assert_int_equal(lines->len, 2);
	assert_string_equal(lines->u.items[0].u.s,
			    "n1/raftnode.log:11: 2026-11-30T07:59:42.958100Z INFO node=n1 term=4 "
			    "event=became-leader last_index=1498");
	assert_string_equal(lines->u.items[1].u.s,
			    "n3/raftnode.log:4: 2026-11-30T07:59:42.960000Z INFO node=n3 term=4 "
			    "event=became-leader last_index=1500");
	assert_non_null(strstr(jget(a, "text")->u.s, "two leaders in term 4: n1"));
	assert_string_equal(jget(jget(v, "election"), "status")->u.s, "violated");
	assert_string_equal(jget(jget(v, "agreement"), "status")->u.s, "agreed");
	assert_int_equal(jget(jget(v, "agreement"), "applied_index")->u.i, 12);
	const struct hval *av = jget(v, "availability");
	assert_string_equal(jget(av, "verdict")->u.s, "not-checked");
	assert_int_equal(jget(av, "windows")->len, 1);
	hval_free(v);

	/* A reproduction expecting it passes. */
	snprintf(f.spec.expect, sizeof f.spec.expect, "invalid");
	report_verdict(&rr);
	assert_int_equal(rr.expect_held, 1);
	assert_int_equal(rr.exit, 0);
	snprintf(f.spec.expect, sizeof f.spec.expect, "valid");
	report_verdict(&rr);
	assert_int_equal(rr.expect_held, 0);
	assert_int_equal(rr.exit, 1);

	/* The summary quotes both lines; junit has a failing case. */
	char *text = summary_and_junit(&rr);
	assert_non_null(strstr(text, "election safety: VIOLATED in 1 term(s)"));
	assert_non_null(strstr(text, "n3/raftnode.log:4: 2026-11-30T07:59:42.960000Z"));
	assert_non_null(strstr(text, "<testcase classname=\"splitbrain.checks\" name=\"election "
				     "safety\">\n    <failure message=\"two leaders in term 4"));
	free(text);
	checks_free(&f.c);
}

static void test_store_ok_and_availability(void **state)
{
	struct spec spec;
	spec_defaults(&spec);
	snprintf(spec.name, sizeof spec.name, "t");
	/* The kill from 2 ms to 3 ms: the first write invoked after it (the cas refused with
	 * mismatch) is answered 2.5 ms after it began. */
	spec.availability.recover_within_ns = 1 * MS;
	struct checks c;
	struct nemesis_act act;
	char store[256];
	run_checks("ok", &c, &spec, &act, store, sizeof store);
	assert_int_equal(c.election_status, ELECTION_OK);
	assert_int_equal(c.election.claims, 7);
	assert_int_equal(c.availability.verdict, AVAIL_FAILED);
	assert_int_equal(checks_anomalies(&c), 1);
	struct chk_result res;
	struct report_run rr = invalid_by_checks(&spec, store, &c, &res);
	struct hval *v = results_of(&rr);
	const struct hval *a = &jget(v, "anomalies")->u.items[0];
	assert_string_equal(jget(a, "kind")->u.s, "availability");
	assert_string_equal(jget(a, "threshold")->u.s, "recover_within");
	assert_non_null(strstr(jget(a, "text")->u.s, "kill n1 (fault 0, 0.002 s to 0.003 s): the "
						     "first acknowledged write came 0.00"));
	assert_non_null(strstr(jget(a, "text")->u.s, "(recover_within 0.001 s)"));
	hval_free(v);
	checks_free(&c);

	/* Without the db kind's pattern and digest, both checks say why they were skipped. */
	memset(&c, 0, sizeof c);
	struct db db;
	struct db_node nodes[3];
	struct db_ops ops;
	fake_db(&db, nodes, &ops);
	ops.leader_pattern = NULL;
	ops.digest = NULL;
	checks_agreement(&c, &db, NULL, 0);
	struct checks_input in = {.db = &db, .store_dir = store, .spec = &spec, .ran = false};
	checks_after_run(&c, &in);
	assert_int_equal(c.election_status, ELECTION_SKIPPED);
	assert_string_equal(c.election_reason, "the raftnode db kind has no leader pattern");
	assert_int_equal(c.agreement.status, AGREE_SKIPPED);
	assert_int_equal(c.availability.verdict, AVAIL_SKIPPED);
	assert_int_equal(checks_anomalies(&c), 0);
	checks_free(&c);
}

/* A node that logs event=committed-entry-conflict makes the run invalid (node safety), the
 * anomaly quotes the line, the summary and junit show it, and detect_first dates it. Only the
 * exact event counts. Without the db kind's pattern the check says why it was skipped. */
static void test_store_node_safety(void **state)
{
	(void)state;
	struct fixture_run f;
	check_fixture(&f, "committed-conflict");
	assert_int_equal(f.c.election_status, ELECTION_OK);
	assert_int_equal(f.c.safety_status, ELECTION_VIOLATED);
	assert_int_equal(f.c.safety.nlines, 2);
	assert_string_equal(f.c.safety.shown[0].where, "n1/raftnode.log:16");
	assert_string_equal(f.c.safety.shown[1].where, "n3/raftnode.log:6");
	assert_int_equal(checks_anomalies(&f.c), 2);
	struct chk_result res;
	struct report_run rr = invalid_by_checks(&f.spec, f.store, &f.c, &res);
	struct hval *v = results_of(&rr);
	const struct hval *an = jget(v, "anomalies");
	assert_int_equal(an->len, 2);
	const struct hval *a = &an->u.items[1];
	assert_string_equal(jget(a, "kind")->u.s, "node-safety");
	assert_string_equal(jget(a, "lines")->u.items[0].u.s,
			    "n3/raftnode.log:6: 2026-11-30T07:59:52.106004Z WARN node=n3 term=6 "
			    "event=committed-entry-conflict index=919 commit=922 term=1 leader_term=2");
	assert_non_null(strstr(jget(a, "text")->u.s, "a node reports a broken safety property: "));
	const struct hval *ns = jget(v, "node_safety");
	assert_string_equal(jget(ns, "status")->u.s, "violated");
	assert_int_equal(jget(ns, "lines")->u.i, 2);
	assert_int_equal(jget(ns, "files")->u.i, 3);
	hval_free(v);

	char *text = summary_and_junit(&rr);
	assert_non_null(strstr(text, "node safety: VIOLATED: 2 log line(s)"));
	assert_non_null(strstr(text, "    n1/raftnode.log:16: 2026-11-30T07:59:52.106010Z WARN"));
	assert_non_null(strstr(text, "<testcase classname=\"splitbrain.checks\" name=\"node "
				     "safety\">\n    <failure message=\"n1/raftnode.log:16: "));
	free(text);

	/* detected at the first line's time, relative to the run's start */
	struct detect_input di = {.check = &res, .checks = &f.c,
				  .t0_wall_ns = detect_line_wall_ns("2026-11-30T07:59:50.000000Z"),
				  .end_s = 30};
	double at = -1;
	char by[256];
	assert_int_equal(detect_first(&di, &at, by, sizeof by), 1);
	assert_true(at > 2.105 && at < 2.107);
	assert_string_equal(by, "node safety: n3/raftnode.log:6");
	checks_free(&f.c);

	/* the plain ok cluster: ok; a kind without the pattern: skipped, with the reason */
	run_checks("ok", &f.c, &f.spec, &f.act, f.store, sizeof f.store);
	assert_int_equal(f.c.safety_status, ELECTION_OK);
	assert_int_equal(checks_anomalies(&f.c), 0);
	checks_free(&f.c);
	memset(&f.c, 0, sizeof f.c);
	struct db db;
	struct db_node nodes[3];
	struct db_ops ops;
	fake_db(&db, nodes, &ops);
	ops.safety_pattern = NULL;
	checks_agreement(&f.c, &db, "not asked", 0);
	struct checks_input in = {.db = &db, .store_dir = f.store, .spec = &f.spec, .ran = false};
	checks_after_run(&f.c, &in);
	assert_int_equal(f.c.safety_status, ELECTION_SKIPPED);
	assert_string_equal(f.c.safety_reason, "the raftnode db kind has no safety pattern");
	assert_int_equal(f.c.election_status, ELECTION_OK);
	checks_free(&f.c);
}

/* An undecided key: results.json's anomaly and junit.xml's skipped case say which operation
 * the search could not get past, besides the checker's sentence. */
static void test_store_undecided_key(void **state)
{
	(void)state;
	struct fixture_run f;
	check_fixture(&f, "ok");
	assert_int_equal(checks_anomalies(&f.c), 0);
	struct chk_op_info op = {.line = 1526, .ret_line = 1590, .process = 69, .time = -1,
				 .ret_time = -1, .type = "ok", .f = "read", .value = "4"};
	struct chk_key_result key = {
		.verdict = CHK_UNKNOWN, .stalled = &op,
		.why = "the time limit was reached before this key was decided"};
	struct chk_result res = {.verdict = CHK_UNKNOWN, .model = CHK_MODEL_CAS_REGISTER,
				 .keys = &key, .nkeys = 1, .nunknown = 1};
	struct report_run rr = {.spec = &f.spec, .store_dir = f.store, .check = &res,
				.checks = &f.c, .as_written = -1, .verdict = "",
				.model = "cas-register"};
	report_verdict(&rr);
	assert_string_equal(rr.verdict, "unknown");
	assert_int_equal(rr.exit, 2);
	const char *want = "the time limit was reached before this key was decided; no order the "
			   "search tried got past the read of process 69 (line 1526, completed at "
			   "line 1590)";
	struct hval *v = results_of(&rr);
	const struct hval *an = jget(v, "anomalies");
	assert_int_equal(an->len, 1);
	assert_string_equal(jget(&an->u.items[0], "kind")->u.s, "unknown");
	assert_string_equal(jget(&an->u.items[0], "text")->u.s, want);
	hval_free(v);
	char *text = summary_and_junit(&rr);
	char skipped[512];
	snprintf(skipped, sizeof skipped, "<skipped message=\"%s\"/>", want);
	if (!strstr(text, skipped))
		fail_msg("junit.xml lacks %s:\n%s", skipped, text);
	free(text);
	checks_free(&f.c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_election_judge_table),
		cmocka_unit_test(test_election_fixture_ok),
		cmocka_unit_test(test_election_fixture_two_leaders),
		cmocka_unit_test(test_election_patterns),
		cmocka_unit_test(test_agree_judge_table),
		cmocka_unit_test(test_agree_run),
		cmocka_unit_test(test_availability_tables),
		cmocka_unit_test(test_availability_spans),
		cmocka_unit_test(test_availability_match_starts),
		cmocka_unit_test(test_availability_history),
		cmocka_unit_test(test_store_two_leaders),
		cmocka_unit_test(test_store_ok_and_availability),
		cmocka_unit_test(test_store_node_safety),
		cmocka_unit_test(test_store_undecided_key),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
