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
	const char *ok[] = {"leader", "followers", "random", "minority", "majority", "all", "n1",
			    "n1,n2", "$step1", "node-3.a_b"};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
		assert_true(nemesis_target_ok(ok[i]));
	const char *bad[] = {"", ",", "n1,", ",n1", "n1,,n2", "n 1", "$", "n1;rm", "$a,b"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (nemesis_target_ok(bad[i]))
			fail_msg("'%s' accepted", bad[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_targets),
		cmocka_unit_test(test_targets_random),
		cmocka_unit_test(test_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
