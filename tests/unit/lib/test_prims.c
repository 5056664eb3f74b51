/* lib/rng, lib/hash, lib/clock, lib/sbuf: the shared primitives. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"
#include "lib/err.h"
#include "lib/hash.h"
#include "lib/rng.h"
#include "lib/sbuf.h"

static void test_rng_replays(void **state)
{
	struct rng a, b, c;
	rng_seed(&a, 42);
	rng_seed(&b, 42);
	rng_seed(&c, 43);
	int same_c = 0;
	for (int i = 0; i < 1000; i++) {
		uint64_t x = rng_next(&a);
		assert_true(x == rng_next(&b));
		same_c += x == rng_next(&c);
	}
	assert_true(same_c < 2);
	/* Seed 0 is a usable stream too (not all zero). */
	rng_seed(&a, 0);
	assert_true(rng_next(&a) != 0 || rng_next(&a) != 0);
}

static void test_rng_below(void **state)
{
	struct rng r;
	rng_seed(&r, 7);
	unsigned hist[6] = {0};
	for (int i = 0; i < 60000; i++) {
		uint64_t v = rng_below(&r, 6);
		assert_true(v < 6);
		hist[v]++;
	}
	for (int i = 0; i < 6; i++) /* 10000 expected each; 5 sigma is about 500 */
		assert_true(hist[i] > 9000 && hist[i] < 11000);
	assert_int_equal(rng_below(&r, 0), 0);
	assert_int_equal(rng_below(&r, 1), 0);
	for (int i = 0; i < 1000; i++) {
		double d = rng_double(&r);
		assert_true(d >= 0 && d < 1);
	}
}

static void test_hash_vectors(void **state)
{
	/* The published FNV-1a test vectors. */
	assert_true(hash_str64("") == 0xcbf29ce484222325ull);
	assert_true(hash_str64("a") == 0xaf63dc4c8601ec8cull);
	assert_true(hash_str64("foobar") == 0x85944171f73967e8ull);
	assert_true(hash_str32("") == 0x811c9dc5u);
	assert_true(hash_str32("a") == 0xe40c292cu);
	assert_true(hash_str32("foobar") == 0xbf9cf968u);
	/* Piecewise equals whole. */
	uint64_t h = hash_fnv64(HASH_FNV64_INIT, "foo", 3);
	assert_true(hash_fnv64(h, "bar", 3) == hash_str64("foobar"));
	assert_true(hash_mix64(1) != hash_mix64(2));
}

static int64_t fake_now(const struct clock *c)
{
	return *(int64_t *)c->arg;
}

static void test_clock_seam(void **state)
{
	int64_t t = 5;
	struct clock fake = {.now = fake_now, .arg = &t};
	assert_true(clock_now(&fake) == 5);
	t = 7;
	assert_true(clock_now(&fake) == 7);
	int64_t a = clock_now(NULL), b = clock_mono_ns();
	assert_true(b >= a);
	assert_true(clock_wall_ns() > 1600000000LL * CLOCK_NS_PER_S);
	int64_t before = clock_mono_ns();
	clock_sleep_ns(2 * CLOCK_NS_PER_MS, NULL);
	assert_true(clock_mono_ns() - before >= 2 * CLOCK_NS_PER_MS);
}

static void test_sbuf(void **state)
{
	struct sbuf b = {0};
	sbuf_addf(&b, "%d-%s", 12, "ab");
	sbuf_addc(&b, '/');
	char big[1000];
	memset(big, 'x', sizeof big);
	sbuf_add(&b, big, sizeof big);
	assert_int_equal(b.len, 6 + 1000);
	assert_memory_equal(b.p, "12-ab/x", 7);
	char *s = sbuf_take(&b);
	assert_int_equal(strlen(s), 1006);
	free(s);
	assert_null(b.p);
	sbuf_add_json_string(&b, "a\"b\n", 4);
	assert_string_equal(b.p, "\"a\\\"b\\n\"");
	sbuf_free(&b);
	/* invalid UTF-8 and DEL are escaped as lib/history's writers do: the JSON stays valid */
	sbuf_add_json_string(&b, "\xc3\xa9\xff\x7f\xe2\x82", 6);
	assert_string_equal(b.p, "\"\xc3\xa9\\udcff\\u007f\\udce2\\udc82\"");
	sbuf_free(&b);
}

static void test_json_double(void **state)
{
	char t[40];
	double ds[] = {0.234, 0.1, 1.0 / 3.0, 1e300, -2.5e-7, 123456789012345678.0, 5e-324};
	for (size_t i = 0; i < sizeof ds / sizeof ds[0]; i++) {
		assert_true(json_format_double(t, sizeof t, ds[i]) > 0);
		assert_true(strtod(t, NULL) == ds[i]);
	}
	json_format_double(t, sizeof t, 0.234);
	assert_string_equal(t, "0.234");
	json_format_double(t, sizeof t, 0.1 + 0.2);
	assert_string_equal(t, "0.30000000000000004");
}

static void test_exit_worst(void **state)
{
	/* bad input > internal > invalid > unknown > valid, whatever the order given */
	int order[] = {SB_EXIT_VALID, SB_EXIT_UNKNOWN, SB_EXIT_INVALID, SB_EXIT_INTERNAL,
		       SB_EXIT_BADINPUT};
	for (int i = 0; i < 5; i++)
		for (int j = 0; j < 5; j++)
			assert_int_equal(err_exit_worst(order[i], order[j]), order[i > j ? i : j]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rng_replays), cmocka_unit_test(test_rng_below),
		cmocka_unit_test(test_hash_vectors), cmocka_unit_test(test_clock_seam),
		cmocka_unit_test(test_sbuf),
		cmocka_unit_test(test_json_double),
		cmocka_unit_test(test_exit_worst),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
