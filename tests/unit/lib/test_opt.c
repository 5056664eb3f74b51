/* lib/opt and lib/units: the one option parser and the quantities it reads. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "lib/err.h"
#include "lib/opt.h"
#include "lib/units.h"

#define S 1000000000LL

static void test_duration(void **state)
{
	char err[256];
	int64_t ns;
	assert_int_equal(units_duration("500ms", S, 3600 * S, &ns, err, sizeof err), 0);
	assert_true(ns == 500000000LL);
	assert_int_equal(units_duration("1.5s", S, 3600 * S, &ns, err, sizeof err), 0);
	assert_true(ns == 1500000000LL);
	assert_int_equal(units_duration("2m", S, 3600 * S, &ns, err, sizeof err), 0);
	assert_true(ns == 120 * S);
	assert_int_equal(units_duration("7", S, 3600 * S, &ns, err, sizeof err), 0);
	assert_true(ns == 7 * S);
	assert_int_equal(units_duration("7", 1000000, 3600 * S, &ns, err, sizeof err), 0);
	assert_true(ns == 7000000);
	/* Not numbers, not finite, not sane. */
	const char *bad[] = {"", "s", "5x", "inf", "nan", "-1s", "1e400", "9.3e9", "2h", "0x10",
			     " 5s", "5 s", "1e20ms"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		assert_int_equal(units_duration(bad[i], S, 3600 * S, &ns, err, sizeof err),
				 SB_EINVAL);
		assert_true(err[0] != '\0');
	}
	char buf[32];
	units_format_duration(1500000000LL, buf, sizeof buf);
	assert_string_equal(buf, "1.5s");
	units_format_duration(120 * S, buf, sizeof buf);
	assert_string_equal(buf, "2m");
	units_format_duration(250000000LL, buf, sizeof buf);
	assert_string_equal(buf, "250ms");
	units_format_duration(0, buf, sizeof buf);
	assert_string_equal(buf, "0s");
}

static void test_size_and_numbers(void **state)
{
	char err[256];
	uint64_t b;
	assert_int_equal(units_size("512M", 1, 1ull << 50, &b, err, sizeof err), 0);
	assert_true(b == 512ull << 20);
	assert_int_equal(units_size("100", 1 << 20, 1ull << 50, &b, err, sizeof err), 0);
	assert_true(b == 100ull << 20);
	assert_int_equal(units_size("1e20", 1 << 20, 1ull << 50, &b, err, sizeof err), SB_EINVAL);
	assert_int_equal(units_size("inf", 1 << 20, 1ull << 50, &b, err, sizeof err), SB_EINVAL);
	long long v;
	assert_int_equal(units_int("42", 1, 100, &v, err, sizeof err), 0);
	assert_int_equal(v, 42);
	assert_int_equal(units_int("101", 1, 100, &v, err, sizeof err), SB_EINVAL);
	assert_int_equal(units_int("99999999999999999999", 1, 100, &v, err, sizeof err),
			 SB_EINVAL);
	assert_int_equal(units_int("4x", 1, 100, &v, err, sizeof err), SB_EINVAL);
	double d;
	assert_int_equal(units_double("-0.5", -1, 1, &d, err, sizeof err), 0);
	assert_true(d == -0.5);
	assert_int_equal(units_double("nan", -1, 1, &d, err, sizeof err), SB_EINVAL);
	assert_int_equal(units_double("1e999", -1e300, 1e300, &d, err, sizeof err), SB_EINVAL);
}

struct cfg {
	const char *model, *json;
	int threads, verbose;
	int64_t timeout;
	uint64_t memory;
	const char *pat[4];
	size_t npat;
};

static int parse(struct cfg *c, struct opt_args *a, char *err, size_t errlen, int argc,
		 char **argv)
{
	memset(c, 0, sizeof *c);
	const struct opt opts[] = {
		OPT_STRING("model", 'm', &c->model),
		OPT_STRING("json", 0, &c->json),
		{OPT_INT, "threads", 0, &c->threads, .min = 1, .max = 1024},
		OPT_BOOL("verbose", 'v', &c->verbose),
		{OPT_DURATION, "timeout", 0, &c->timeout, .min = 1, .max = 30LL * 86400 * S},
		{OPT_SIZE, "memory", 0, &c->memory, .unit = 1 << 20, .max = 1ll << 50},
		{OPT_LIST, "pattern", 0, c->pat, .cap = 4, .count = &c->npat},
		OPT_END,
	};
	return opt_parse(opts, argc, argv, a, err, errlen);
}

static void test_parse(void **state)
{
	char *argv[] = {"check", "h1.jsonl", "--model", "kv", "--timeout=2m", "-", "-v",
			"--memory", "64", "--pattern", "a=b", "--pattern=c=d", "--", "x", "--y",
			NULL};
	int argc = (int)(sizeof argv / sizeof argv[0]) - 1;
	struct cfg c;
	struct opt_args a;
	char err[256] = "";
	assert_int_equal(parse(&c, &a, err, sizeof err, argc, argv), 0);
	assert_string_equal(c.model, "kv");
	assert_true(c.timeout == 120 * S);
	assert_true(c.verbose);
	assert_true(c.memory == 64ull << 20);
	assert_int_equal(c.npat, 2);
	assert_string_equal(c.pat[1], "c=d");
	assert_int_equal(a.npos, 2);
	assert_string_equal(a.pos[0], "h1.jsonl");
	assert_string_equal(a.pos[1], "-");
	assert_int_equal(a.nrest, 2);
	assert_string_equal(a.rest[1], "--y");
	opt_args_free(&a);
}

static void test_parse_errors(void **state)
{
	struct {
		char *argv[6];
		const char *msg;
	} cases[] = {
		{{"x", "--nope", NULL}, "unknown option '--nope'"},
		{{"x", "--model", NULL}, "--model needs a value"},
		{{"x", "--model=", NULL}, "--model: the value may not be empty"},
		{{"x", "--threads", "0", NULL}, "--threads '0': expected an integer from 1 to 1024"},
		{{"x", "--timeout", "inf", NULL}, "--timeout 'inf' is not a duration"},
		{{"x", "--timeout", "0", NULL}, "--timeout '0': at least 1ns"},
		{{"x", "--memory", "1e20", NULL}, "--memory '1e20': a size of at most"},
		{{"x", "--verbose=1", NULL}, "--verbose takes no value"},
		{{"x", "-q", NULL}, "unknown option '-q'"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int argc = 0;
		while (cases[i].argv[argc])
			argc++;
		struct cfg c;
		struct opt_args a;
		char err[256] = "";
		assert_int_equal(parse(&c, &a, err, sizeof err, argc, cases[i].argv), SB_EINVAL);
		if (strncmp(err, cases[i].msg, strlen(cases[i].msg)))
			fail_msg("case %zu: got '%s', want '%s...'", i, err, cases[i].msg);
		opt_args_free(&a);
	}
	/* A later value replaces an earlier one. */
	char *twice[] = {"x", "--model", "a", "-m", "b", NULL};
	struct cfg c2;
	struct opt_args a2;
	char err2[256];
	assert_int_equal(parse(&c2, &a2, err2, sizeof err2, 5, twice), 0);
	assert_string_equal(c2.model, "b");
	opt_args_free(&a2);
	char *help[] = {"x", "a", "--help", NULL};
	struct cfg c;
	struct opt_args a;
	char err[256];
	assert_int_equal(parse(&c, &a, err, sizeof err, 3, help), OPT_HELP);
	opt_args_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_size_and_numbers),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
