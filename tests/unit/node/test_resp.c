/* RESP2 request parser and reply encoder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "node/resp.h"

static struct resp_cmd cmd;

static int parse(const char *s, size_t n, size_t *used, char *err)
{
	return resp_parse_request(s, n, &cmd, used, err, 256);
}

static void test_multibulk(void **state)
{
	const char *req = "*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$5\r\nhe\0lo\r\n*1\r\n$4\r\nPING\r\n";
	size_t len = 31 + 14;
	char err[256];
	size_t used = 0;
	/* every proper prefix is incomplete, never an error */
	size_t first = 31;
	for (size_t i = 0; i < first; i++)
		assert_int_equal(parse(req, i, &used, err), 0);
	assert_int_equal(parse(req, len, &used, err), 1);
	assert_int_equal(used, first);
	assert_int_equal(cmd.argc, 3);
	assert_true(resp_arg_is(&cmd.argv[0], "set"));
	assert_int_equal(cmd.argv[2].len, 5);
	assert_memory_equal(cmd.argv[2].p, "he\0lo", 5);
	assert_int_equal(parse(req + used, len - used, &used, err), 1);
	assert_int_equal(cmd.argc, 1);
	assert_true(resp_arg_is(&cmd.argv[0], "PING"));
}

static void test_inline(void **state)
{
	char err[256];
	size_t used;
	assert_int_equal(parse("GET  key\r\nrest", 14, &used, err), 1);
	assert_int_equal(used, 10);
	assert_int_equal(cmd.argc, 2);
	assert_int_equal(cmd.argv[1].len, 3);
	assert_int_equal(parse("PING", 4, &used, err), 0);
	assert_int_equal(parse("\r\n", 2, &used, err), 1);
	assert_int_equal(cmd.argc, 0);
}

static void test_malformed(void **state)
{
	char err[256];
	size_t used;
	struct {
		const char *in;
		int rc;
		const char *msg;
	} cases[] = {
		{"*x\r\n", SB_EINVAL, "multibulk length"},
		{"*1\r\n+GET\r\n", SB_EINVAL, "expected '$'"},
		{"*1\r\n$-3\r\n", SB_EINVAL, "bulk length"},
		{"*1\r\n$3\r\nGETxx", SB_EINVAL, "CRLF"},
		{"*1\r\n$99999999999\r\n", SB_ELIMIT, "longer"},
		{"*100000\r\n", SB_ELIMIT, "arguments"},
		{"*-1\r\n", 1, NULL}, /* a null multibulk: an empty request */
		/* 19 digits that do not fit a long long: refused, not overflowed */
		{"*9999999999999999999\r\n", SB_EINVAL, "multibulk length"},
		{"*9223372036854775808\r\n", SB_EINVAL, "multibulk length"},
		{"*1\r\n$9223372036854775808\r\n", SB_EINVAL, "bulk length"},
		{"*1\r\n$9999999999999999999\r\n", SB_EINVAL, "bulk length"},
		{"*1\r\n$-9999999999999999999\r\n", SB_EINVAL, "bulk length"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		err[0] = 0;
		int rc = parse(cases[i].in, strlen(cases[i].in), &used, err);
		assert_int_equal(rc, cases[i].rc);
		if (cases[i].msg && !strstr(err, cases[i].msg))
			fail_msg("case %zu: '%s' lacks '%s'", i, err, cases[i].msg);
	}
}

static void test_size_bound(void **state)
{
	/* A request that never ends is refused once it reaches the bound. */
	size_t n = RESP_MAX_REQUEST + 10;
	char *big = malloc(n);
	memset(big, 'a', n);
	char err[256];
	size_t used;
	assert_int_equal(parse(big, RESP_MAX_REQUEST - 1, &used, err), 0);
	assert_int_equal(parse(big, n, &used, err), SB_ELIMIT);
	int h = snprintf(big, 32, "*1\r\n$%u\r\n", RESP_MAX_REQUEST + 1);
	big[h] = 'a';
	assert_int_equal(parse(big, n, &used, err), SB_ELIMIT);
	h = snprintf(big, 32, "*1\r\n$%u\r\n", RESP_MAX_REQUEST - 10);
	big[h] = 'a';
	assert_int_equal(parse(big, 1000, &used, err), 0);
	assert_int_equal(parse(big, n, &used, err), SB_ELIMIT);
	free(big);
}

/* The node's largest command fits in one request: a SET of a 1 MiB value, a CAS with a 64 KiB
 * key and two 1 MiB values (node/raft_kv.h's limits). With a 1 MiB request limit, the largest
 * value the node accepts could never be sent. */
static void test_largest_command_fits(void **state)
{
	size_t key = 64u << 10, val = 1u << 20;
	size_t cap = key + 2 * val + 256, n = 0;
	char *req = malloc(cap), err[256];
	n += (size_t)sprintf(req + n, "*4\r\n$3\r\nCAS\r\n$%zu\r\n", key);
	memset(req + n, 'k', key);
	n += key;
	for (int i = 0; i < 2; i++) {
		n += (size_t)sprintf(req + n, "\r\n$%zu\r\n", val);
		memset(req + n, 'a' + i, val);
		n += val;
	}
	n += (size_t)sprintf(req + n, "\r\n");
	size_t used = 0;
	assert_int_equal(parse(req, n, &used, err), 1);
	assert_int_equal(used, n);
	assert_int_equal(cmd.argc, 4);
	assert_int_equal(cmd.argv[3].len, val);
	n = (size_t)sprintf(req, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%zu\r\n", val);
	memset(req + n, 'v', val);
	n += val;
	n += (size_t)sprintf(req + n, "\r\n");
	assert_int_equal(parse(req, n, &used, err), 1);
	assert_int_equal(cmd.argv[2].len, val);
	free(req);
}

static void test_encoder(void **state)
{
	struct resp_out o = {0};
	resp_put_simple(&o, "OK");
	resp_put_error(&o, "NOTLEADER %s %s", "n2", "127.0.0.1:7002");
	resp_put_int(&o, -42);
	resp_put_bulk(&o, "a\r\nb", 4);
	resp_put_null(&o);
	resp_put_array(&o, 2);
	resp_put_error(&o, "bad\r\nline");
	const char *want = "+OK\r\n-NOTLEADER n2 127.0.0.1:7002\r\n:-42\r\n$4\r\na\r\nb\r\n$-1\r\n*2\r\n"
			   "-bad  line\r\n";
	assert_int_equal(o.len, strlen(want));
	assert_memory_equal(o.p, want, o.len);
	resp_out_consume(&o, 5);
	assert_memory_equal(o.p, "-NOTLEADER", 10);
	assert_false(o.oom);
	resp_out_free(&o);
}

/* Random bytes and random mutations of valid requests: never a crash, and every success
 * consumes at least one byte and no more than it was given. */
static void test_random_input(void **state)
{
	srand(7);
	char buf[256], err[256];
	const char *seed = "*3\r\n$3\r\nCAS\r\n$1\r\nk\r\n$2\r\n12\r\n";
	for (int it = 0; it < 200000; it++) {
		size_t n = (size_t)(rand() % (int)sizeof buf);
		if (it % 2) {
			for (size_t i = 0; i < n; i++)
				buf[i] = (char)(rand() % 7 == 0 ? "*$\r\n-0123"[rand() % 10] : rand());
		} else {
			n = strlen(seed);
			memcpy(buf, seed, n);
			buf[rand() % (int)n] = (char)rand();
		}
		size_t used = 0;
		int rc = parse(buf, n, &used, err);
		assert_true(rc == 0 || rc == 1 || rc == SB_EINVAL || rc == SB_ELIMIT);
		if (rc == 1) {
			assert_true(used >= 1 && used <= n);
			for (size_t a = 0; a < cmd.argc; a++)
				assert_true(cmd.argv[a].p >= buf && cmd.argv[a].p + cmd.argv[a].len <= buf + n);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_multibulk),  cmocka_unit_test(test_inline),
		cmocka_unit_test(test_malformed),  cmocka_unit_test(test_size_bound),
		cmocka_unit_test(test_encoder),	   cmocka_unit_test(test_random_input),
		cmocka_unit_test(test_largest_command_fits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
