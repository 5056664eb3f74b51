/* partition shapes (harness/nemesis/cut.h), pure: shape + nodes (+ leader, + target, + rnd)
 * -> groups and the set of cut directed links, as tables; the random shapes by their
 * properties over many draws (majorities-ring: every node sees a majority, no two the same). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "harness/nemesis/cut.h"
#include "lib/err.h"

static const char *const names[] = {"n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8", "n9"};

/* Names for 64 nodes, for the large cases. */
static const char *big_names[DB_MAX_NODES];
static char big_buf[DB_MAX_NODES][8];

static uint64_t B(size_t i)
{
	return (uint64_t)1 << i;
}

/* The cut links as "n1>n3 n1>n4 ..." (from>to: to no longer hears from), from-major. */
static void links(const struct nemesis_cut *c, char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = '\0';
	for (size_t f = 0; f < c->n; f++)
		for (size_t t = 0; t < c->n; t++)
			if (nemesis_cut_has(c, f, t) && o < len)
				o += (size_t)snprintf(buf + o, len - o, "%s%s>%s", o ? " " : "", names[f],
						      names[t]);
}

struct shape_case {
	const char *shape;
	size_t n;
	int leader;
	uint64_t target;
	int want;          /* 0 or the error */
	const char *text;  /* nemesis_cut_text */
	const char *cut;   /* the cut links, or NULL to check only the count */
	size_t count;
};

static void test_shape_table(void **state)
{
	const struct shape_case cases[] = {
		{"isolate-leader", 5, 2, 0, 0, "{n3} / {n1, n2, n4, n5}",
		 "n1>n3 n2>n3 n3>n1 n3>n2 n3>n4 n3>n5 n4>n3 n5>n3", 8},
		{"isolate-leader", 3, 0, 0, 0, "{n1} / {n2, n3}", "n1>n2 n1>n3 n2>n1 n3>n1", 4},
		{"isolate-leader", 3, -1, 0, SB_ETIMEOUT, NULL, NULL, 0},
		{"isolate-node", 5, -1, B(1), 0, "{n2} / {n1, n3, n4, n5}", NULL, 8},
		{"isolate-node", 5, -1, B(0) | B(3), 0, "{n1} / {n4} / {n2, n3, n5}", NULL, 14},
		{"isolate-node", 3, -1, B(0) | B(1) | B(2), SB_EINVAL, NULL, NULL, 0},
		{"halves", 5, -1, 0, 0, "{n1, n2} / {n3, n4, n5}",
		 "n1>n3 n1>n4 n1>n5 n2>n3 n2>n4 n2>n5 n3>n1 n3>n2 n4>n1 n4>n2 n5>n1 n5>n2", 12},
		{"halves", 4, -1, 0, 0, "{n1, n2} / {n3, n4}", NULL, 8},
		{"halves", 3, -1, 0, 0, "{n1} / {n2, n3}", "n1>n2 n1>n3 n2>n1 n3>n1", 4},
		{"halves", 9, -1, 0, 0, "{n1, n2, n3, n4} / {n5, n6, n7, n8, n9}", NULL, 40},
		{"one-way", 3, -1, B(0), 0, "{n1} stops hearing {n2, n3}", "n2>n1 n3>n1", 2},
		{"one-way", 5, -1, B(1) | B(2), 0, "{n2, n3} stops hearing {n1, n4, n5}",
		 "n1>n2 n1>n3 n4>n2 n4>n3 n5>n2 n5>n3", 6},
		{"one-way", 3, -1, B(0) | B(1) | B(2), SB_EINVAL, NULL, NULL, 0},
		{"majorities-ring", 2, -1, 0, SB_EINVAL, NULL, NULL, 0},
		{"bridge", 2, -1, 0, SB_EINVAL, NULL, NULL, 0},
		{"squares", 5, -1, 0, SB_EINVAL, NULL, NULL, 0},
		{"halves", 1, -1, 0, SB_EINVAL, NULL, NULL, 0},
	};
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		const struct shape_case *sc = &cases[k];
		struct nemesis_cut c;
		char err[256] = "", text[512], cut[1024];
		int rc = nemesis_cut_shape(&c, sc->shape, sc->n, sc->leader, sc->target, 42, err,
					   sizeof err);
		if (rc != sc->want)
			fail_msg("case %zu (%s): rc %d (%s), want %d", k, sc->shape, rc, err, sc->want);
		if (rc) {
			assert_true(err[0] != '\0');
			continue;
		}
		nemesis_cut_text(&c, names, text, sizeof text);
		if (strcmp(text, sc->text))
			fail_msg("case %zu (%s): text '%s', want '%s'", k, sc->shape, text, sc->text);
		links(&c, cut, sizeof cut);
		if (sc->cut && strcmp(cut, sc->cut))
			fail_msg("case %zu (%s): cut '%s', want '%s'", k, sc->shape, cut, sc->cut);
		if (nemesis_cut_count(&c) != sc->count)
			fail_msg("case %zu (%s): %zu links cut, want %zu", k, sc->shape,
				 nemesis_cut_count(&c), sc->count);
		assert_string_equal(c.shape, sc->shape);
	}
}

/* Explicit groups and one-way groups, as the spec gives them. */
static void test_groups_table(void **state)
{
	struct {
		size_t n;
		uint64_t g[3];
		size_t ng;
		int want;
		const char *text;
		size_t count;
	} cases[] = {
		{5, {B(0) | B(1), B(2) | B(3) | B(4)}, 2, 0, "{n1, n2} / {n3, n4, n5}", 12},
		/* The nodes named in no group are one more group. */
		{5, {B(0)}, 1, 0, "{n1} / {n2, n3, n4, n5}", 8},
		{5, {B(0), B(4)}, 2, 0, "{n1} / {n5} / {n2, n3, n4}", 14},
		{5, {B(0) | B(1), B(1) | B(2)}, 2, SB_EINVAL, NULL, 0}, /* overlap */
		{5, {B(0), 0}, 2, SB_EINVAL, NULL, 0},                   /* empty group */
		{3, {B(0) | B(1) | B(2)}, 1, SB_EINVAL, NULL, 0},        /* one group, no cut */
		{3, {0}, 0, SB_EINVAL, NULL, 0},
	};
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		struct nemesis_cut c;
		char err[256] = "", text[256];
		int rc = nemesis_cut_groups(&c, cases[k].n, cases[k].g, cases[k].ng, err, sizeof err);
		if (rc != cases[k].want)
			fail_msg("case %zu: rc %d (%s)", k, rc, err);
		if (rc)
			continue;
		nemesis_cut_text(&c, names, text, sizeof text);
		assert_string_equal(text, cases[k].text);
		assert_int_equal(nemesis_cut_count(&c), cases[k].count);
	}
	/* one-way groups: A stops hearing B, the others untouched. */
	struct nemesis_cut c;
	char err[256], text[256], cut[512];
	assert_int_equal(nemesis_cut_one_way(&c, 5, B(0) | B(1), B(3), err, sizeof err), 0);
	nemesis_cut_text(&c, names, text, sizeof text);
	assert_string_equal(text, "{n1, n2} stops hearing {n4}");
	links(&c, cut, sizeof cut);
	assert_string_equal(cut, "n4>n1 n4>n2");
	assert_int_equal(nemesis_cut_one_way(&c, 5, B(0), B(0) | B(1), err, sizeof err),
			 SB_EINVAL);
	assert_int_equal(nemesis_cut_one_way(&c, 5, 0, B(1), err, sizeof err), SB_EINVAL);
}

/* Datacenters of a 2/2/1 cluster: the five three-datacenter cases. */
static void test_datacenters(void **state)
{
	const char *dcs[] = {"east", "east", "west", "west", "central"};
	struct {
		const char *dc, *a, *b; /* cut-dc dc, or cut-link a-b */
		int want;
		const char *text, *cut;
	} cases[] = {
		/* one link cut, between the two big datacenters: central is the bridge */
		{NULL, "east", "west", 0, "{n1, n2} / {n3, n4}, {n5} sees both",
		 "n1>n3 n1>n4 n2>n3 n2>n4 n3>n1 n3>n2 n4>n1 n4>n2"},
		/* one link cut, a big datacenter and the small one */
		{NULL, "east", "central", 0, "{n1, n2} / {n5}, {n3, n4} sees both",
		 "n1>n5 n2>n5 n5>n1 n5>n2"},
		/* two links cut (east-west, east-central): east alone */
		{"east", NULL, NULL, 0, "{n1, n2} / {n3, n4, n5}",
		 "n1>n3 n1>n4 n1>n5 n2>n3 n2>n4 n2>n5 n3>n1 n3>n2 n4>n1 n4>n2 n5>n1 n5>n2"},
		/* the small datacenter cut off */
		{"central", NULL, NULL, 0, "{n5} / {n1, n2, n3, n4}",
		 "n1>n5 n2>n5 n3>n5 n4>n5 n5>n1 n5>n2 n5>n3 n5>n4"},
		{"north", NULL, NULL, SB_EINVAL, NULL, NULL},
		{NULL, "east", "east", SB_EINVAL, NULL, NULL},
		{NULL, "east", "south", SB_EINVAL, NULL, NULL},
	};
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		struct nemesis_cut c;
		char err[256] = "", text[256], cut[512];
		int rc = cases[k].dc ? nemesis_cut_datacenter(&c, 5, dcs, cases[k].dc, err, sizeof err)
				     : nemesis_cut_between(&c, 5, dcs, cases[k].a, cases[k].b, err,
							   sizeof err);
		if (rc != cases[k].want)
			fail_msg("case %zu: rc %d (%s)", k, rc, err);
		if (rc) {
			assert_true(err[0] != '\0');
			continue;
		}
		nemesis_cut_text(&c, names, text, sizeof text);
		assert_string_equal(text, cases[k].text);
		links(&c, cut, sizeof cut);
		assert_string_equal(cut, cases[k].cut);
	}
	/* Unknown datacenters are named with the ones that exist. */
	struct nemesis_cut c;
	char err[256];
	assert_int_equal(nemesis_cut_datacenter(&c, 5, dcs, "north", err, sizeof err), SB_EINVAL);
	assert_non_null(strstr(err, "datacenters: east, west, central"));
	const char *none[] = {"", "", ""};
	assert_int_equal(nemesis_cut_datacenter(&c, 3, none, "east", err, sizeof err), SB_EINVAL);
	assert_non_null(strstr(err, "no node has a dc label"));
	const char *one[] = {"a", "a", "a"};
	assert_int_equal(nemesis_cut_datacenter(&c, 3, one, "a", err, sizeof err), SB_EINVAL);
}

/* ---- properties of the random shapes ---- */

static size_t popcount(uint64_t m)
{
	return (size_t)__builtin_popcountll(m);
}

static uint64_t all(size_t n)
{
	return n >= 64 ? ~(uint64_t)0 : B(n) - 1;
}

static void assert_symmetric(const struct nemesis_cut *c)
{
	for (size_t i = 0; i < c->n; i++)
		for (size_t j = 0; j < c->n; j++)
			if (nemesis_cut_has(c, i, j) != nemesis_cut_has(c, j, i))
				fail_msg("%s on %zu: %zu->%zu and back differ", c->shape, c->n, i, j);
}

/* Two disjoint groups covering every node, cut completely from each other, whole inside. */
static void assert_two_sides(const struct nemesis_cut *c, size_t small)
{
	assert_int_equal(c->ngroups, 2);
	uint64_t a = c->groups[0], b = c->groups[1];
	assert_int_equal(a & b, 0);
	assert_true((a | b) == all(c->n));
	assert_int_equal(popcount(a), small);
	for (size_t i = 0; i < c->n; i++)
		assert_true(c->hears[i] == ((a & B(i)) ? a : b));
	assert_symmetric(c);
}

static void test_random_halves_majority_third(void **state)
{
	for (size_t n = 3; n <= 9; n++) {
		unsigned chosen[9] = {0};
		for (uint64_t rnd = 0; rnd < 300; rnd++) {
			struct nemesis_cut c, again;
			char err[128];
			assert_int_equal(nemesis_cut_shape(&c, "random-halves", n, -1, 0, rnd, err,
							   sizeof err),
					 0);
			assert_two_sides(&c, n / 2);
			assert_int_equal(nemesis_cut_shape(&again, "random-halves", n, -1, 0, rnd, err,
							   sizeof err),
					 0);
			assert_memory_equal(&c, &again, sizeof c); /* the same draw, the same cut */
			for (size_t i = 0; i < n; i++)
				chosen[i] += (c.groups[0] & B(i)) != 0;

			assert_int_equal(nemesis_cut_shape(&c, "majority", n, -1, 0, rnd, err, sizeof err), 0);
			size_t minority = (n - 1) / 2 ? (n - 1) / 2 : 1;
			assert_two_sides(&c, minority);
			assert_true(popcount(c.groups[1]) > n / 2); /* a strict majority */

			assert_int_equal(nemesis_cut_shape(&c, "minority-third", n, -1, 0, rnd, err,
							   sizeof err),
					 0);
			size_t third = (n + 2) / 3 - 1; /* the largest count below a third */
			assert_two_sides(&c, third ? third : 1);
			assert_true(3 * popcount(c.groups[0]) < n || popcount(c.groups[0]) == 1);
		}
		for (size_t i = 0; i < n; i++)
			assert_true(chosen[i] > 0); /* every node lands in the first half sometimes */
	}
}

/* Every node sees (hears, both ways) a majority, itself included; no two nodes see the same
 * majority; some link is cut. Also for the whole cluster size range. */
static void test_majorities_ring(void **state)
{
	for (size_t n = 3; n <= DB_MAX_NODES; n++) {
		for (uint64_t rnd = 0; rnd < (n <= 9 ? 200u : 5u); rnd++) {
			struct nemesis_cut c;
			char err[128];
			assert_int_equal(nemesis_cut_shape(&c, "majorities-ring", n, -1, 0, rnd, err,
							   sizeof err),
					 0);
			assert_symmetric(&c);
			assert_true(nemesis_cut_count(&c) > 0);
			for (size_t i = 0; i < n; i++) {
				assert_true(c.hears[i] & B(i));
				if (popcount(c.hears[i]) <= n / 2)
					fail_msg("n=%zu rnd=%llu: node %zu sees %zu nodes, no majority", n,
						 (unsigned long long)rnd, i, popcount(c.hears[i]));
				for (size_t j = 0; j < i; j++)
					if (c.hears[i] == c.hears[j])
						fail_msg("n=%zu rnd=%llu: nodes %zu and %zu see the same "
							 "majority",
							 n, (unsigned long long)rnd, i, j);
			}
			assert_int_equal(c.ngroups, n);
			assert_int_equal(c.style, NEMESIS_CUT_VIEWS);
		}
	}
	/* The 5-node ring exactly: each node sees itself and its two ring neighbours. */
	struct nemesis_cut c;
	char err[128], text[512];
	assert_int_equal(nemesis_cut_shape(&c, "majorities-ring", 5, -1, 0, 7, err, sizeof err), 0);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(popcount(c.hears[i]), 3);
	assert_int_equal(nemesis_cut_count(&c), 10); /* each node cut from 2, both ways */
	nemesis_cut_text(&c, names, text, sizeof text);
	assert_non_null(strstr(text, "n1 sees {"));
	assert_non_null(strstr(text, "; n5 sees {"));
	/* 3 nodes: a path; the middle node sees everyone. */
	assert_int_equal(nemesis_cut_shape(&c, "majorities-ring", 3, -1, 0, 1, err, sizeof err), 0);
	size_t sees_all = 0;
	for (size_t i = 0; i < 3; i++)
		sees_all += c.hears[i] == all(3);
	assert_int_equal(sees_all, 1);
	assert_int_equal(nemesis_cut_count(&c), 2);
}

/* One node hears and is heard by everyone; the others are two sides cut from each other. */
static void test_bridge(void **state)
{
	for (size_t n = 3; n <= 9; n++) {
		unsigned bridged[9] = {0};
		for (uint64_t rnd = 0; rnd < 200; rnd++) {
			struct nemesis_cut c;
			char err[128];
			assert_int_equal(nemesis_cut_shape(&c, "bridge", n, -1, 0, rnd, err, sizeof err),
					 0);
			assert_symmetric(&c);
			assert_int_equal(c.ngroups, 2);
			uint64_t both = c.groups[0] & c.groups[1];
			assert_int_equal(popcount(both), 1);
			size_t b = (size_t)__builtin_ctzll(both);
			bridged[b]++;
			assert_true(c.hears[b] == all(n));
			uint64_t l = c.groups[0] & ~both, r = c.groups[1] & ~both;
			assert_true((l | r | both) == all(n));
			assert_int_equal(popcount(l), n / 2);
			assert_int_equal(popcount(r), n - n / 2 - 1);
			for (size_t i = 0; i < n; i++)
				if (i != b)
					assert_true(c.hears[i] == ((l & B(i)) ? l | both : r | both));
			assert_int_equal(nemesis_cut_count(&c), 2 * popcount(l) * popcount(r));
		}
		for (size_t i = 0; i < n; i++)
			assert_true(bridged[i] > 0);
	}
	struct nemesis_cut c;
	char err[128], text[256];
	assert_int_equal(nemesis_cut_shape(&c, "bridge", 5, -1, 0, 3, err, sizeof err), 0);
	nemesis_cut_text(&c, names, text, sizeof text);
	/* "{a, b, x} / {x, c, d}" in node order inside each side: x appears twice. */
	assert_int_equal(strlen(text), strlen("{n1, n2, n3} / {n3, n4, n5}"));
}

/* A random target (no target given): one node, uniformly over the draws. */
static void test_random_targets(void **state)
{
	unsigned iso[5] = {0}, ow[5] = {0};
	for (uint64_t rnd = 0; rnd < 500; rnd++) {
		struct nemesis_cut c;
		char err[128];
		assert_int_equal(nemesis_cut_shape(&c, "isolate-node", 5, -1, 0, rnd, err, sizeof err), 0);
		assert_two_sides(&c, 1);
		iso[__builtin_ctzll(c.groups[0])]++;
		assert_int_equal(nemesis_cut_shape(&c, "one-way", 5, -1, 0, rnd, err, sizeof err), 0);
		assert_int_equal(nemesis_cut_count(&c), 4);
		size_t a = (size_t)__builtin_ctzll(c.groups[0]);
		ow[a]++;
		for (size_t j = 0; j < 5; j++)
			if (j != a) {
				assert_true(nemesis_cut_has(&c, j, a));  /* a stops hearing j */
				assert_false(nemesis_cut_has(&c, a, j)); /* j still hears a */
			}
	}
	for (size_t i = 0; i < 5; i++)
		assert_true(iso[i] > 50 && ow[i] > 50); /* 100 expected each */
}

/* The history value: groups and every cut directed link, as JSON. */
static void test_json(void **state)
{
	struct nemesis_cut c;
	char err[128];
	assert_int_equal(nemesis_cut_shape(&c, "halves", 5, -1, 0, 0, err, sizeof err), 0);
	struct sbuf b = {0};
	nemesis_cut_json(&c, names, &b);
	assert_string_equal(b.p, "\"groups\":[[\"n1\",\"n2\"],[\"n3\",\"n4\",\"n5\"]],\"cut\":["
				 "[\"n1\",\"n3\"],[\"n1\",\"n4\"],[\"n1\",\"n5\"],[\"n2\",\"n3\"],"
				 "[\"n2\",\"n4\"],[\"n2\",\"n5\"],[\"n3\",\"n1\"],[\"n3\",\"n2\"],"
				 "[\"n4\",\"n1\"],[\"n4\",\"n2\"],[\"n5\",\"n1\"],[\"n5\",\"n2\"]]");
	sbuf_free(&b);
	assert_int_equal(nemesis_cut_shape(&c, "one-way", 3, -1, B(2), 0, err, sizeof err), 0);
	nemesis_cut_json(&c, names, &b);
	assert_string_equal(b.p, "\"groups\":[[\"n3\"],[\"n1\",\"n2\"]],\"cut\":[[\"n1\",\"n3\"],"
				 "[\"n2\",\"n3\"]]");
	sbuf_free(&b);
	/* 64 nodes cut in halves: 2048 links, and a text that is cut short, not overrun. */
	for (size_t i = 0; i < DB_MAX_NODES; i++) {
		snprintf(big_buf[i], sizeof big_buf[i], "m%zu", i);
		big_names[i] = big_buf[i];
	}
	assert_int_equal(nemesis_cut_shape(&c, "halves", 64, -1, 0, 0, err, sizeof err), 0);
	assert_int_equal(nemesis_cut_count(&c), 2048);
	char small[40];
	nemesis_cut_text(&c, big_names, small, sizeof small);
	assert_int_equal(strlen(small), sizeof small - 1);
	nemesis_cut_json(&c, big_names, &b);
	assert_false(b.oom);
	assert_true(b.len > 2048 * 10);
	sbuf_free(&b);
}

static void test_shape_names(void **state)
{
	for (size_t i = 0; nemesis_shapes[i]; i++) {
		struct nemesis_cut c;
		char err[128];
		assert_true(nemesis_shape_ok(nemesis_shapes[i]));
		/* Every listed shape works on 5 nodes with a leader. */
		if (nemesis_cut_shape(&c, nemesis_shapes[i], 5, 0, 0, 1, err, sizeof err))
			fail_msg("%s: %s", nemesis_shapes[i], err);
		assert_true(nemesis_cut_count(&c) > 0);
	}
	assert_false(nemesis_shape_ok("groups"));
	assert_false(nemesis_shape_ok(""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shape_table),
		cmocka_unit_test(test_groups_table),
		cmocka_unit_test(test_datacenters),
		cmocka_unit_test(test_random_halves_majority_third),
		cmocka_unit_test(test_majorities_ring),
		cmocka_unit_test(test_bridge),
		cmocka_unit_test(test_random_targets),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_shape_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
