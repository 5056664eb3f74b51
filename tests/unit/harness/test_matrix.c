/* Tests for harness/matrix: the shards of `splitbrain test-all` (every (spec, seed) in exactly
 * one shard; adding a spec moves no other pair; a fair spread), `--shard` parsing, path
 * normalisation, the worst exit code, expanding directories. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness/matrix/matrix.h"
#include "lib/err.h"

static void test_parse_shard(void **state)
{
	char err[256];
	unsigned i, n;
	assert_int_equal(matrix_parse_shard("1/1", &i, &n, err, sizeof err), 0);
	assert_int_equal(i, 1);
	assert_int_equal(n, 1);
	assert_int_equal(matrix_parse_shard("3/4", &i, &n, err, sizeof err), 0);
	assert_int_equal(i, 3);
	assert_int_equal(n, 4);
	static const char *const bad[] = {"", "1", "0/2", "3/2", "1/0", "-1/2", "1/2/3", "a/2",
					  "1/", "/2", "1/10001", "1 /2", "99999999999/1"};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
		if (matrix_parse_shard(bad[k], &i, &n, err, sizeof err) != SB_EINVAL)
			fail_msg("'%s' accepted", bad[k]);
	assert_non_null(strstr(err, "--shard"));
	assert_int_equal(matrix_parse_shard(NULL, &i, &n, err, sizeof err), SB_EINVAL);
}

static void test_normalise(void **state)
{
	static const char *const cases[][2] = {
		{"workloads/a.yaml", "workloads/a.yaml"},
		{"./workloads/a.yaml", "workloads/a.yaml"},
		{"workloads//./a.yaml", "workloads/a.yaml"},
		{"/abs//x/./y.yml", "/abs/x/y.yml"},
		{"a.yaml", "a.yaml"},
		{"../up/a.yaml", "../up/a.yaml"},
	};
	char out[64];
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		matrix_normalise(cases[k][0], out, sizeof out);
		assert_string_equal(out, cases[k][1]);
	}
	/* The same pair under two spellings lands in the same shard, with the same seed. */
	assert_int_equal(matrix_shard("./w//a.yaml", 7, 5), matrix_shard("w/a.yaml", 7, 5));
	assert_int_equal(matrix_default_seed("./w/a.yaml"), matrix_default_seed("w/a.yaml"));
	assert_true(matrix_default_seed("w/a.yaml") != matrix_default_seed("w/b.yaml"));
	char tiny[4];
	matrix_normalise("abcdef", tiny, sizeof tiny);
	assert_string_equal(tiny, "abc");
}

#define NSPECS 40
#define NSEEDS 5

static void spec_name(size_t i, char *buf, size_t n)
{
	snprintf(buf, n, "workloads/spec-%02zu.yaml", i);
}

/* Every pair is in exactly one shard of N, for every N; the pairs a shard takes do not depend
 * on the others in the matrix. */
static void test_cover_exactly_once(void **state)
{
	char name[64];
	for (unsigned n = 1; n <= 8; n++) {
		size_t count[9] = {0};
		for (size_t s = 0; s < NSPECS; s++)
			for (uint64_t seed = 100; seed < 100 + NSEEDS; seed++) {
				spec_name(s, name, sizeof name);
				unsigned in = 0, which = 0;
				for (unsigned i = 1; i <= n; i++)
					if (matrix_shard(name, seed, n) == i) {
						in++;
						which = i;
					}
				assert_int_equal(in, 1);
				count[which]++;
			}
		size_t total = 0;
		for (unsigned i = 1; i <= n; i++) {
			total += count[i];
			/* A fair spread: within 50 % of the mean for 200 pairs (a fixed input: no flakes). */
			double mean = (double)(NSPECS * NSEEDS) / n;
			if (count[i] < 0.5 * mean || count[i] > 1.5 * mean)
				fail_msg("shard %u/%u holds %zu of %d pairs", i, n, count[i],
					 NSPECS * NSEEDS);
		}
		assert_int_equal(total, NSPECS * NSEEDS);
	}
}

/* Adding a spec (or removing one) moves no pair of the others from its shard: a pair's shard
 * is a function of its own path and seed. Compare the assignment of a matrix with and
 * without an extra spec, as test-all builds it. */
static void test_adding_a_spec_moves_none(void **state)
{
	char name[64];
	unsigned before[NSPECS][NSEEDS];
	for (size_t s = 0; s < NSPECS; s++)
		for (size_t k = 0; k < NSEEDS; k++) {
			spec_name(s, name, sizeof name);
			before[s][k] = matrix_shard(name, 100 + k, 4);
		}
	/* The new spec sorts in the middle of the directory. */
	unsigned extra = matrix_shard("workloads/spec-10b.yaml", 100, 4);
	assert_true(extra >= 1 && extra <= 4);
	size_t moved = 0;
	for (size_t s = 0; s < NSPECS; s++)
		for (size_t k = 0; k < NSEEDS; k++) {
			spec_name(s, name, sizeof name);
			moved += matrix_shard(name, 100 + k, 4) != before[s][k];
		}
	assert_int_equal(moved, 0);
	/* Seeds of one spec spread over the shards too (not all in one). */
	unsigned seen = 0;
	for (uint64_t seed = 0; seed < 32; seed++)
		seen |= 1u << matrix_shard("workloads/one.yaml", seed, 4);
	assert_int_equal(seen, 0x1e);
}

static void test_worse_exit(void **state)
{
	static const int order[] = {0, 2, 1, 255, 254}; /* each worse than the ones before */
	for (size_t a = 0; a < 5; a++)
		for (size_t b = 0; b < 5; b++)
			assert_int_equal(matrix_worse_exit(order[a], order[b]), order[a > b ? a : b]);
	assert_int_equal(matrix_worse_exit(0, 77), 77); /* an odd code is a failure */
	assert_int_equal(matrix_worse_exit(1, 77), 77);
}

static void test_expand(void **state)
{
	char dir[64], path[128], err[512];
	snprintf(dir, sizeof dir, "/tmp/test_matrix.XXXXXX");
	assert_non_null(mkdtemp(dir));
	static const char *const files[] = {"b.yaml", "a.yml", "c.txt", ".hidden.yaml", "README.md"};
	for (size_t k = 0; k < 5; k++) {
		snprintf(path, sizeof path, "%s/%s", dir, files[k]);
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		fclose(f);
	}
	snprintf(path, sizeof path, "%s/c.txt", dir);
	const char *args[] = {dir, path};
	char **paths = NULL;
	size_t n = 0;
	assert_int_equal(matrix_expand(args, 2, &paths, &n, err, sizeof err), 0);
	assert_int_equal(n, 3);
	char want[128];
	snprintf(want, sizeof want, "%s/a.yml", dir);
	assert_string_equal(paths[0], want);
	snprintf(want, sizeof want, "%s/b.yaml", dir);
	assert_string_equal(paths[1], want);
	assert_string_equal(paths[2], path); /* a file given by name is taken as it is */
	matrix_paths_free(paths, n);

	const char *missing[] = {"/nonexistent/dir"};
	assert_int_equal(matrix_expand(missing, 1, &paths, &n, err, sizeof err), SB_EINVAL);
	assert_non_null(strstr(err, "/nonexistent/dir"));
	char cmd[160];
	snprintf(cmd, sizeof cmd, "rm -f %s/*.yaml %s/*.yml", dir, dir);
	assert_int_equal(system(cmd), 0);
	const char *empty[] = {dir};
	assert_int_equal(matrix_expand(empty, 1, &paths, &n, err, sizeof err), SB_EINVAL);
	assert_non_null(strstr(err, "no *.yaml"));
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_shard),
		cmocka_unit_test(test_normalise),
		cmocka_unit_test(test_cover_exactly_once),
		cmocka_unit_test(test_adding_a_spec_moves_none),
		cmocka_unit_test(test_worse_exit),
		cmocka_unit_test(test_expand),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
