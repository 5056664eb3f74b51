/* Unit tests of the replicated KV state machine (node/raft_kv.h): command semantics, dedup,
 * encoding errors on hostile bytes, snapshots and their corruption. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/err.h"
#include "node/raft_kv.h"

static void enc(enum raft_kv_op op, const char *a, const char *b, const char *c,
		unsigned char **buf, size_t *len)
{
	struct raft_kv_str args[3];
	size_t n = 0;
	const char *v[3] = {a, b, c};
	for (size_t i = 0; i < 3 && v[i]; i++)
		args[n++] = (struct raft_kv_str){(const unsigned char *)v[i], strlen(v[i])};
	char err[200];
	assert_int_equal(raft_kv_encode_args(op, args, n, buf, len, err, sizeof(err)), 0);
}

/* Apply (writes) or query (reads) one command; the caller frees *res. */
static void run_cmd(struct raft_kv *kv, uint64_t client, uint64_t seq, enum raft_kv_op op,
		    const char *a, const char *b, const char *c, struct raft_kv_result *res)
{
	unsigned char *buf;
	size_t len;
	enc(op, a, b, c, &buf, &len);
	if (op == RAFT_KV_GET || op == RAFT_KV_LRANGE)
		assert_int_equal(raft_kv_query(kv, buf, len, res), 0);
	else
		assert_int_equal(raft_kv_apply(kv, client, seq, buf, len, res), 0);
	free(buf);
}

static long long run_int(struct raft_kv *kv, enum raft_kv_op op, const char *a, const char *b,
			 const char *c)
{
	struct raft_kv_result r;
	run_cmd(kv, 0, 0, op, a, b, c, &r);
	assert_int_equal(r.kind, RAFT_KV_RES_INT);
	long long v = r.integer;
	raft_kv_result_free(&r);
	return v;
}

static void expect_bulk(struct raft_kv *kv, const char *key, const char *want)
{
	struct raft_kv_result r;
	run_cmd(kv, 0, 0, RAFT_KV_GET, key, NULL, NULL, &r);
	if (!want) {
		assert_int_equal(r.kind, RAFT_KV_RES_NIL);
	} else {
		assert_int_equal(r.kind, RAFT_KV_RES_BULK);
		assert_int_equal(r.bulk_len, strlen(want));
		assert_memory_equal(r.bulk, want, r.bulk_len);
	}
	raft_kv_result_free(&r);
}

static void test_register_commands(void **state)
{
	(void)state;
	struct raft_kv *kv = raft_kv_new();
	struct raft_kv_result r;
	expect_bulk(kv, "x", NULL);
	run_cmd(kv, 0, 0, RAFT_KV_SET, "x", "1", NULL, &r);
	assert_int_equal(r.kind, RAFT_KV_RES_OK);
	raft_kv_result_free(&r);
	expect_bulk(kv, "x", "1");
	assert_int_equal(run_int(kv, RAFT_KV_CAS, "x", "2", "3"), 0); /* differs */
	expect_bulk(kv, "x", "1");
	assert_int_equal(run_int(kv, RAFT_KV_CAS, "x", "1", "3"), 1);
	expect_bulk(kv, "x", "3");
	assert_int_equal(run_int(kv, RAFT_KV_CAS, "absent", "", "3"), 0); /* absent never matches */
	assert_int_equal(run_int(kv, RAFT_KV_DEL, "x", NULL, NULL), 1);
	assert_int_equal(run_int(kv, RAFT_KV_DEL, "x", NULL, NULL), 0);
	expect_bulk(kv, "x", NULL);
	/* empty values and binary bytes are values like any other */
	run_cmd(kv, 0, 0, RAFT_KV_SET, "e", "", NULL, &r);
	raft_kv_result_free(&r);
	expect_bulk(kv, "e", "");
	raft_kv_free(kv);
}

static void test_list_commands(void **state)
{
	(void)state;
	struct raft_kv *kv = raft_kv_new();
	struct raft_kv_result r;
	run_cmd(kv, 0, 0, RAFT_KV_LRANGE, "l", "0", "-1", &r);
	assert_int_equal(r.kind, RAFT_KV_RES_ARRAY);
	assert_int_equal(r.n_items, 0);
	raft_kv_result_free(&r);
	assert_int_equal(run_int(kv, RAFT_KV_RPUSH, "l", "a", NULL), 1);
	assert_int_equal(run_int(kv, RAFT_KV_RPUSH, "l", "b", NULL), 2);
	assert_int_equal(run_int(kv, RAFT_KV_RPUSH, "l", "c", NULL), 3);
	struct {
		const char *start, *stop;
		const char *want;
	} cases[] = {{"0", "-1", "abc"}, {"1", "1", "b"},   {"-2", "-1", "bc"}, {"2", "10", "c"},
		     {"5", "9", ""},     {"2", "1", ""},    {"-10", "0", "a"}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		run_cmd(kv, 0, 0, RAFT_KV_LRANGE, "l", cases[i].start, cases[i].stop, &r);
		assert_int_equal(r.kind, RAFT_KV_RES_ARRAY);
		assert_int_equal(r.n_items, strlen(cases[i].want));
		for (size_t j = 0; j < r.n_items; j++) {
			assert_int_equal(r.item_lens[j], 1);
			assert_int_equal(r.items[j][0], cases[i].want[j]);
		}
		raft_kv_result_free(&r);
	}
	/* wrong kinds */
	run_cmd(kv, 0, 0, RAFT_KV_GET, "l", NULL, NULL, &r);
	assert_int_equal(r.kind, RAFT_KV_RES_ERR);
	assert_non_null(strstr((char *)r.bulk, "WRONGTYPE"));
	raft_kv_result_free(&r);
	run_cmd(kv, 0, 0, RAFT_KV_SET, "s", "v", NULL, &r);
	raft_kv_result_free(&r);
	run_cmd(kv, 0, 0, RAFT_KV_RPUSH, "s", "v", NULL, &r);
	assert_int_equal(r.kind, RAFT_KV_RES_ERR);
	raft_kv_result_free(&r);
	assert_int_equal(run_int(kv, RAFT_KV_CAS, "l", "a", "b"), 0);
	/* SET replaces a list */
	run_cmd(kv, 0, 0, RAFT_KV_SET, "l", "v", NULL, &r);
	raft_kv_result_free(&r);
	expect_bulk(kv, "l", "v");
	raft_kv_free(kv);
}

static void test_dedup(void **state)
{
	(void)state;
	struct raft_kv *kv = raft_kv_new();
	struct raft_kv_result r;
	run_cmd(kv, 7, 1, RAFT_KV_RPUSH, "l", "a", NULL, &r);
	assert_int_equal(r.integer, 1);
	raft_kv_result_free(&r);
	run_cmd(kv, 7, 1, RAFT_KV_RPUSH, "l", "a", NULL, &r); /* retry: not applied again */
	assert_int_equal(r.kind, RAFT_KV_RES_INT);
	assert_int_equal(r.integer, 1);
	raft_kv_result_free(&r);
	run_cmd(kv, 7, 2, RAFT_KV_RPUSH, "l", "b", NULL, &r);
	assert_int_equal(r.integer, 2);
	raft_kv_result_free(&r);
	run_cmd(kv, 7, 1, RAFT_KV_RPUSH, "l", "a", NULL, &r); /* older than the last */
	assert_int_equal(r.kind, RAFT_KV_RES_ERR);
	assert_non_null(strstr((char *)r.bulk, "STALE"));
	raft_kv_result_free(&r);
	run_cmd(kv, 0, 0, RAFT_KV_RPUSH, "l", "c", NULL, &r); /* client 0: no dedup */
	raft_kv_result_free(&r);
	run_cmd(kv, 0, 0, RAFT_KV_RPUSH, "l", "c", NULL, &r);
	assert_int_equal(r.integer, 4);
	raft_kv_result_free(&r);
	/* dedup survives a snapshot round trip */
	unsigned char *snap;
	size_t slen;
	assert_int_equal(raft_kv_snapshot(kv, &snap, &slen), 0);
	struct raft_kv *kv2 = raft_kv_new();
	char err[200];
	assert_int_equal(raft_kv_restore(kv2, snap, slen, err, sizeof(err)), 0);
	run_cmd(kv2, 7, 2, RAFT_KV_RPUSH, "l", "b", NULL, &r);
	assert_int_equal(r.integer, 2);
	raft_kv_result_free(&r);
	assert_int_equal(raft_kv_digest(kv), raft_kv_digest(kv2));
	free(snap);
	raft_kv_free(kv);
	raft_kv_free(kv2);
}

static void test_encoding_errors(void **state)
{
	(void)state;
	char err[200];
	unsigned char *buf;
	size_t len;
	struct raft_kv_str one = {(const unsigned char *)"k", 1};
	assert_int_equal(raft_kv_encode_args(RAFT_KV_CAS, &one, 1, &buf, &len, err, sizeof(err)),
			 SB_EINVAL);
	assert_non_null(strstr(err, "CAS takes 3"));
	struct raft_kv_str lr[3] = {one, {(const unsigned char *)"x", 1}, {(const unsigned char *)"1", 1}};
	assert_int_equal(raft_kv_encode_args(RAFT_KV_LRANGE, lr, 3, &buf, &len, err, sizeof(err)),
			 SB_EINVAL);
	assert_non_null(strstr(err, "not an integer"));
	assert_int_equal(raft_kv_encode_args((enum raft_kv_op)99, lr, 3, &buf, &len, err,
					     sizeof(err)),
			 SB_EINVAL);
	/* every truncation and every single-byte change of a valid command decodes or fails
	 * cleanly, and applying it never crashes */
	enc(RAFT_KV_CAS, "key", "old", "new", &buf, &len);
	struct raft_kv *kv = raft_kv_new();
	struct raft_kv_cmd cmd;
	for (size_t n = 0; n < len; n++)
		assert_int_equal(raft_kv_decode(buf, n, &cmd, err, sizeof(err)), SB_EINVAL);
	assert_int_equal(raft_kv_decode(buf, len, &cmd, err, sizeof(err)), 0);
	assert_int_equal(cmd.op, RAFT_KV_CAS);
	assert_int_equal(cmd.arg[1].len, 3);
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			buf[i] ^= (unsigned char)(1u << bit);
			(void)raft_kv_decode(buf, len, &cmd, err, sizeof(err));
			struct raft_kv_result r;
			assert_int_equal(raft_kv_apply(kv, 1, i * 8 + (size_t)bit + 1, buf, len, &r), 0);
			raft_kv_result_free(&r);
			buf[i] ^= (unsigned char)(1u << bit);
		}
	}
	assert_int_equal(raft_kv_is_read(buf, 2), SB_EINVAL);
	free(buf);
	struct raft_kv_result r;
	unsigned char junk[] = {9, 0, 0, 0, 0};
	assert_int_equal(raft_kv_apply(kv, 0, 0, junk, sizeof(junk), &r), 0);
	assert_int_equal(r.kind, RAFT_KV_RES_ERR);
	raft_kv_result_free(&r);
	/* struct encode of LRANGE round-trips its integers */
	struct raft_kv_cmd c2 = {.op = RAFT_KV_LRANGE, .key = one, .start = -3, .stop = 7};
	assert_int_equal(raft_kv_encode(&c2, &buf, &len, err, sizeof(err)), 0);
	assert_int_equal(raft_kv_decode(buf, len, &cmd, err, sizeof(err)), 0);
	assert_int_equal(cmd.start, -3);
	assert_int_equal(cmd.stop, 7);
	assert_int_equal(raft_kv_is_read(buf, len), 1);
	free(buf);
	raft_kv_free(kv);
}

static void test_snapshot_roundtrip_and_corruption(void **state)
{
	(void)state;
	struct raft_kv *a = raft_kv_new(), *b = raft_kv_new();
	struct raft_kv_result r;
	char key[16], val[16];
	/* same state reached in different orders gives the same bytes */
	for (int i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		snprintf(val, sizeof(val), "v%d", i);
		run_cmd(a, 0, 0, RAFT_KV_SET, key, val, NULL, &r);
		raft_kv_result_free(&r);
		run_cmd(a, 0, 0, RAFT_KV_RPUSH, "list", val, NULL, &r);
		raft_kv_result_free(&r);
	}
	for (int i = 99; i >= 0; i--) {
		snprintf(key, sizeof(key), "k%d", i);
		snprintf(val, sizeof(val), "v%d", i);
		run_cmd(b, 0, 0, RAFT_KV_SET, key, val, NULL, &r);
		raft_kv_result_free(&r);
	}
	for (int i = 0; i < 100; i++) {
		snprintf(val, sizeof(val), "v%d", i);
		run_cmd(b, 0, 0, RAFT_KV_RPUSH, "list", val, NULL, &r);
		raft_kv_result_free(&r);
	}
	/* and the same dedup table */
	for (int c = 1; c <= 5; c++) {
		run_cmd(a, (uint64_t)c, 1000, RAFT_KV_DEL, "none", NULL, NULL, &r);
		raft_kv_result_free(&r);
		run_cmd(b, (uint64_t)c, 1000, RAFT_KV_DEL, "none", NULL, NULL, &r);
		raft_kv_result_free(&r);
	}
	unsigned char *sa, *sb;
	size_t la, lb;
	assert_int_equal(raft_kv_snapshot(a, &sa, &la), 0);
	assert_int_equal(raft_kv_snapshot(b, &sb, &lb), 0);
	assert_int_equal(la, lb);
	assert_memory_equal(sa, sb, la);
	/* every truncation is refused with a position, and the old state is kept */
	char err[200];
	uint64_t before = raft_kv_digest(b);
	for (size_t n = 0; n < la; n += 7) {
		assert_int_equal(raft_kv_restore(b, sa, n, err, sizeof(err)), SB_EINVAL);
		assert_non_null(strstr(err, "state snapshot"));
	}
	assert_int_equal(raft_kv_digest(b), before);
	/* byte flips never crash (they may or may not still parse) */
	for (size_t i = 0; i < la; i += 3) {
		sa[i] ^= 0x5a;
		struct raft_kv *t = raft_kv_new();
		(void)raft_kv_restore(t, sa, la, err, sizeof(err));
		raft_kv_free(t);
		sa[i] ^= 0x5a;
	}
	struct raft_kv *c = raft_kv_new();
	assert_int_equal(raft_kv_restore(c, sa, la, err, sizeof(err)), 0);
	assert_int_equal(raft_kv_digest(c), raft_kv_digest(a));
	expect_bulk(c, "k42", "v42");
	free(sa);
	free(sb);
	raft_kv_free(a);
	raft_kv_free(b);
	raft_kv_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register_commands),
		cmocka_unit_test(test_list_commands),
		cmocka_unit_test(test_dedup),
		cmocka_unit_test(test_encoding_errors),
		cmocka_unit_test(test_snapshot_roundtrip_and_corruption),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
