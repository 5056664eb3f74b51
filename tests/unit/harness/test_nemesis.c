/* nemesis: the fault table and target resolution (pure), as tables of cases. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "harness/db/db.h"
#include "harness/nemesis/nemesis.h"
#include "lib/err.h"

static struct db *make_db(size_t n)
{
	struct control_host hosts[DB_MAX_NODES];
	for (size_t i = 0; i < n; i++) {
		control_host_defaults(&hosts[i]);
		snprintf(hosts[i].name, sizeof hosts[i].name, "n%zu", i + 1);
		snprintf(hosts[i].address, sizeof hosts[i].address, "10.0.0.%zu", i + 1);
	}
	struct db *db = NULL;
	char err[256];
	struct db_opts o = {.binary = "/bin/true", .run_id = "t"};
	assert_int_equal(db_open(&db, hosts, n, &o, err, sizeof err), 0);
	return db;
}

static size_t count(const bool *sel, size_t n)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += sel[i];
	return c;
}

static void test_targets(void **state)
{
	struct {
		size_t n;
		const char *target;
		int leader;
		int want;          /* chosen count, or a negative error code */
		const char *nodes; /* the exact choice when it is not random, "n1, n3" */
	} cases[] = {
		{3, "leader", 1, 1, "n2"},
		{3, "followers", 1, 2, "n1, n3"},
		{5, "followers", 0, 4, "n2, n3, n4, n5"},
		{3, "all", -1, 3, "n1, n2, n3"},
		{3, "random", -1, 1, NULL},
		{3, "minority", -1, 1, NULL},
		{5, "minority", -1, 2, NULL},
		{3, "majority", -1, 2, NULL},
		{5, "majority", -1, 3, NULL},
		{4, "majority", -1, 3, NULL},
		{5, "n2,n4", -1, 2, "n2, n4"},
		{5, "n4,n4", -1, 1, "n4"},
		{3, "follower", -1, SB_ETIMEOUT, NULL},
		{3, "leader", -1, SB_ETIMEOUT, NULL},
		{3, "followers", -1, SB_ETIMEOUT, NULL},
		{3, "n9", -1, SB_EINVAL, NULL},
		{3, "n1,,n2", -1, SB_EINVAL, NULL},
	};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		struct db *db = make_db(cases[c].n);
		bool sel[DB_MAX_NODES];
		char err[256] = "";
		int rc = nemesis_targets(cases[c].target, db, cases[c].leader, 1234 + c, sel, err,
					 sizeof err);
		if (rc != cases[c].want)
			fail_msg("case %zu (%s): got %d (%s), want %d", c, cases[c].target, rc, err,
				 cases[c].want);
		if (rc > 0) {
			assert_int_equal(count(sel, db->n), (size_t)rc);
			if (cases[c].nodes) {
				char got[256];
				nemesis_nodes_text(db, sel, got, sizeof got);
				assert_string_equal(got, cases[c].nodes);
			}
		} else {
			assert_true(err[0] != '\0');
		}
		db_close(db);
	}
}

/* The same randomness chooses the same nodes; over many draws every node is chosen. */
static void test_targets_random(void **state)
{
	struct db *db = make_db(5);
	bool a[DB_MAX_NODES], b[DB_MAX_NODES];
	char err[256];
	unsigned hits[5] = {0};
	for (uint64_t rnd = 0; rnd < 500; rnd++) {
		assert_int_equal(nemesis_targets("minority", db, -1, rnd, a, err, sizeof err), 2);
		assert_int_equal(nemesis_targets("minority", db, -1, rnd, b, err, sizeof err), 2);
		assert_memory_equal(a, b, 5 * sizeof a[0]);
		for (int i = 0; i < 5; i++)
			hits[i] += a[i];
	}
	for (int i = 0; i < 5; i++)
		assert_true(hits[i] > 100); /* 200 expected each */
	/* A follower: one node, never the leader, each follower in turn. */
	unsigned fhits[5] = {0};
	for (uint64_t rnd = 0; rnd < 400; rnd++) {
		assert_int_equal(nemesis_targets("follower", db, 2, rnd, a, err, sizeof err), 1);
		assert_false(a[2]);
		for (int i = 0; i < 5; i++)
			fhits[i] += a[i];
	}
	for (int i = 0; i < 5; i++)
		assert_true(i == 2 ? fhits[i] == 0 : fhits[i] > 50);
	char json[256];
	assert_int_equal(nemesis_targets("n1,n5", db, -1, 0, a, err, sizeof err), 2);
	nemesis_nodes_json(db, a, json, sizeof json);
	assert_string_equal(json, "[\"n1\",\"n5\"]");
	db_close(db);
}

static void test_table(void **state)
{
	assert_non_null(nemesis_find("kill"));
	assert_non_null(nemesis_find("pause"));
	const char *kinds[] = {"partition", "cut-dc", "cut-link", "netem", "clock", "crashpoint"};
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		assert_non_null(nemesis_find(kinds[i]));
		assert_non_null(strstr(nemesis_names(), kinds[i]));
	}
	assert_true(nemesis_requires(nemesis_find("crashpoint"), "point"));
	assert_true(nemesis_takes(nemesis_find("netem"), "delay"));
	assert_true(nemesis_takes(nemesis_find("clock"), "clock_rate"));
	assert_false(nemesis_takes(nemesis_find("clock"), "delay"));
	assert_true(nemesis_requires(nemesis_find("cut-link"), "link"));
	assert_null(nemesis_find("nope"));
	const struct nemesis_kind *k = nemesis_find("kill");
	assert_true(nemesis_takes(k, "restart_after"));
	assert_true(nemesis_takes(k, "target"));
	assert_true(nemesis_takes(k, "weight"));
	assert_false(nemesis_takes(k, "duration"));
	assert_false(nemesis_takes(k, "restart"));
	assert_true(nemesis_takes(nemesis_find("pause"), "duration"));
	assert_non_null(strstr(nemesis_names(), "kill"));
	/* Every kind has every operation. */
	for (size_t i = 0; nemesis_kinds[i]; i++) {
		const struct nemesis_kind *n = nemesis_kinds[i];
		assert_non_null(n->start);
		assert_non_null(n->heal);
		assert_non_null(n->heal_all);
		assert_non_null(n->start_f);
		assert_non_null(n->heal_f);
	}
	const char *ok[] = {"leader", "follower", "followers", "random", "minority", "majority", "all", "n1",
			    "n1,n2", "$step1", "node-3.a_b"};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
		assert_true(nemesis_target_ok(ok[i]));
	const char *bad[] = {"", ",", "n1,", ",n1", "n1,,n2", "n 1", "$", "n1;rm", "$a,b"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (nemesis_target_ok(bad[i]))
			fail_msg("'%s' accepted", bad[i]);
}

/* Each kind's check() refuses unsound field combinations at load time, with a message. */
struct check_case {
	const char *kind;
	const char *shape, *target, *dc, *link0, *link1, *point;
	size_t ngroups;
	int64_t delay, jitter, offset;
	double loss, reorder, rate;
	bool ok;
	const char *msg; /* part of the message when refused */
};

static void test_checks(void **state)
{
	const struct check_case cases[] = {
		{.kind = "partition", .ok = true},
		{.kind = "partition", .shape = "halves", .ok = true},
		{.kind = "partition", .shape = "squares", .msg = "unknown shape 'squares'"},
		{.kind = "partition", .shape = "halves", .ngroups = 2, .msg = "does not take groups"},
		{.kind = "partition", .ngroups = 2, .ok = true},
		{.kind = "partition", .shape = "one-way", .ngroups = 3, .msg = "must be two"},
		{.kind = "partition", .shape = "one-way", .ngroups = 2, .ok = true},
		{.kind = "partition", .shape = "halves", .target = "n1", .msg = "takes no target"},
		{.kind = "partition", .shape = "isolate-node", .target = "n1", .ok = true},
		{.kind = "partition", .ngroups = 2, .target = "n1", .msg = "exclude each other"},
		{.kind = "cut-dc", .msg = "needs dc"},
		{.kind = "cut-dc", .dc = "$leader", .ok = true},
		{.kind = "cut-link", .link0 = "a", .msg = "two labels"},
		{.kind = "cut-link", .link0 = "a", .link1 = "a", .msg = "both ends"},
		{.kind = "cut-link", .link0 = "a", .link1 = "b", .ok = true},
		{.kind = "netem", .msg = "nothing to do"},
		{.kind = "netem", .delay = 100000000, .ok = true},
		{.kind = "netem", .loss = 5, .ok = true},
		{.kind = "netem", .loss = 101, .msg = "percentage"},
		{.kind = "netem", .jitter = 1000, .loss = 1, .msg = "jitter needs a delay"},
		{.kind = "netem", .reorder = 10, .msg = "reorder needs a delay"},
		{.kind = "netem", .reorder = 10, .delay = 1000000, .ok = true},
		{.kind = "clock", .msg = "nothing to do"},
		{.kind = "clock", .offset = -500000000, .ok = true},
		{.kind = "clock", .rate = 1.5, .ok = true},
		{.kind = "clock", .rate = 1000, .msg = "0.01..100"},
		{.kind = "clock", .rate = -1, .msg = "0.01..100"},
		{.kind = "crashpoint", .msg = "needs point"},
		{.kind = "crashpoint", .point = "leader-after-commit", .ok = true},
		{.kind = "crashpoint", .point = "x; rm -rf /", .msg = "not a crash point name"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct check_case *c = &cases[i];
		const struct nemesis_kind *k = nemesis_find(c->kind);
		assert_non_null(k);
		assert_non_null(k->check);
		struct spec_fault f;
		memset(&f, 0, sizeof f);
		snprintf(f.kind, sizeof f.kind, "%s", c->kind);
		snprintf(f.shape, sizeof f.shape, "%s", c->shape ? c->shape : "");
		snprintf(f.target, sizeof f.target, "%s", c->target ? c->target : "");
		snprintf(f.dc, sizeof f.dc, "%s", c->dc ? c->dc : "");
		snprintf(f.link[0], sizeof f.link[0], "%s", c->link0 ? c->link0 : "");
		snprintf(f.link[1], sizeof f.link[1], "%s", c->link1 ? c->link1 : "");
		snprintf(f.point, sizeof f.point, "%s", c->point ? c->point : "");
		f.ngroups = c->ngroups;
		f.delay_ns = c->delay;
		f.jitter_ns = c->jitter;
		f.offset_ns = c->offset;
		f.loss = c->loss;
		f.reorder = c->reorder;
		f.clock_rate = c->rate;
		char err[256] = "";
		int rc = k->check(&f, err, sizeof err);
		if ((rc == 0) != c->ok || (c->msg && !strstr(err, c->msg)))
			fail_msg("case %zu (%s): rc %d '%s'", i, c->kind, rc, err);
	}
}

/* Finding the crash point's lines in a node's log. */
static void test_crash_scan(void **state)
{
	const char *log =
		"2026-11-24T00:10:00.000000Z INFO node=n1 term=2 event=became-leader\n"
		"2026-11-24T00:10:01.250000Z INFO node=n1 term=2 event=crashpoint-armed "
		"name=leader-after-commit hit=1\n"
		"2026-11-24T00:10:01.500000Z WARN node=n1 term=2 event=crashpoint-hit "
		"name=leader-after-commit-x hit=1\n"
		"2026-11-24T00:10:02.000000Z WARN node=n1 term=2 event=crashpoint-hit "
		"name=leader-after-commit hit=1\n";
	int64_t armed, hit;
	assert_int_equal(nemesis_crash_scan(log, "leader-after-commit", &armed, &hit),
			 NEMESIS_CRASH_ARMED | NEMESIS_CRASH_HIT);
	assert_true(hit - armed == 750000000LL);
	assert_int_equal(nemesis_crash_scan(log, "leader-after", &armed, &hit), 0);
	assert_int_equal(nemesis_crash_scan(log, "leader-after-commit-x", &armed, &hit),
			 NEMESIS_CRASH_HIT);
	assert_int_equal(nemesis_crash_scan("", "x", &armed, &hit), 0);
	assert_int_equal(nemesis_crash_scan("garbage event=crashpoint-hit name=x\n", "x", &armed,
					    &hit),
			 0); /* no timestamp: not believed */
}

/* A spec with a clock fault (in the faults or the timeline) starts its nodes under
 * libfaketime; others do not. */
static void test_db_opts(void **state)
{
	static struct spec s;
	memset(&s, 0, sizeof s);
	struct db_opts o = {0};
	s.nemesis.nfaults = 1;
	snprintf(s.nemesis.faults[0].kind, sizeof s.nemesis.faults[0].kind, "kill");
	nemesis_db_opts(&s, &o);
	assert_false(o.faketime);
	s.nemesis.nsteps = 1;
	snprintf(s.nemesis.steps[0].action.kind, sizeof s.nemesis.steps[0].action.kind, "clock");
	nemesis_db_opts(&s, &o);
	assert_true(o.faketime);
	o.faketime = false;
	s.nemesis.nsteps = 0;
	snprintf(s.nemesis.faults[0].kind, sizeof s.nemesis.faults[0].kind, "clock");
	nemesis_db_opts(&s, &o);
	assert_true(o.faketime);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_targets),
		cmocka_unit_test(test_targets_random),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_checks),
		cmocka_unit_test(test_crash_scan),
		cmocka_unit_test(test_db_opts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
