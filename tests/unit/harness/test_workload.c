/* Tests for harness/workload: the table of kinds, their rows, and the names the history and
 * the client use. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "harness/workload/workload.h"

static void test_find(void **state)
{
	assert_ptr_equal(workload_find("register"), &workload_register);
	assert_ptr_equal(workload_find("kv"), &workload_kv);
	assert_ptr_equal(workload_find("set"), &workload_set);
	assert_ptr_equal(workload_find("list-append"), &workload_list_append);
	assert_null(workload_find("list_append"));
	assert_null(workload_find("KV"));
	assert_null(workload_find(""));
	assert_null(workload_find(NULL));
}

static void test_names(void **state)
{
	assert_string_equal(workload_names(), "register, kv, set, list-append");
	/* every row of the table is named, in table order */
	size_t n = 0;
	for (const struct workload_kind *const *k = workload_kinds; *k; k++, n++)
		assert_non_null(strstr(workload_names(), (*k)->name));
	assert_int_equal(n, 4);
}

static void test_op_names(void **state)
{
	assert_string_equal(op_f_name(OP_READ), "read");
	assert_string_equal(op_f_name(OP_WRITE), "write");
	assert_string_equal(op_f_name(OP_CAS), "cas");
	assert_string_equal(op_f_name(OP_ADD), "add");
	assert_string_equal(op_f_name(OP_APPEND), "append");
	assert_string_equal(op_f_name(OP_NF), "?");
	assert_string_equal(op_f_name((enum op_f)-1), "?");
}

static void test_key_names(void **state)
{
	char buf[16];
	workload_key_name(0, buf, sizeof buf);
	assert_string_equal(buf, "k0");
	workload_key_name(4294967295u, buf, sizeof buf);
	assert_string_equal(buf, "k4294967295");
	workload_key_name(123, buf, 3); /* truncated, still a string */
	assert_string_equal(buf, "k1");
	workload_client_key(&workload_register, 0, buf, sizeof buf);
	assert_string_equal(buf, "r");
	workload_client_key(&workload_kv, 7, buf, sizeof buf);
	assert_string_equal(buf, "k7");
	workload_client_key(&workload_set, 2, buf, sizeof buf);
	assert_string_equal(buf, "k2");
}

/* What each row promises: its operations, model, keys, final read; and a default mix that
 * uses only its own operations, each of them. */
static void test_rows(void **state)
{
	struct {
		const struct workload_kind *k;
		enum chk_model model;
		unsigned ops;
		int keyed, final_read;
		unsigned keys;
	} want[] = {
		{&workload_register, CHK_MODEL_CAS_REGISTER,
		 1u << OP_READ | 1u << OP_WRITE | 1u << OP_CAS, 0, 0, 1},
		{&workload_kv, CHK_MODEL_KV, 1u << OP_READ | 1u << OP_WRITE | 1u << OP_CAS, 1, 0, 8},
		{&workload_set, CHK_MODEL_SET, 1u << OP_READ | 1u << OP_ADD, 1, 1, 8},
		{&workload_list_append, CHK_MODEL_LIST, 1u << OP_READ | 1u << OP_APPEND, 1, 1, 8},
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		const struct workload_kind *k = want[i].k;
		assert_ptr_equal(workload_kinds[i], k);
		assert_int_equal(k->model, want[i].model);
		assert_int_equal(k->ops, want[i].ops);
		assert_int_equal(k->keyed, want[i].keyed);
		assert_int_equal(k->final_read, want[i].final_read);
		assert_int_equal(k->default_keys, want[i].keys);
		assert_true(k->summary && k->summary[0]);
		assert_int_equal(k->single_key != NULL, !k->keyed);
		/* a read returns a whole set or list exactly when elements are added */
		assert_int_equal(k->collection,
				 (k->ops & (1u << OP_ADD | 1u << OP_APPEND)) != 0);
		for (int f = 0; f < OP_NF; f++) {
			if (k->ops & (1u << f))
				assert_true(k->mix[f] > 0);
			else
				assert_true(k->mix[f] == 0);
		}
	}
	assert_null(workload_kinds[4]);
	/* Jepsen's register mix */
	assert_true(workload_register.mix[OP_READ] == 1 && workload_register.mix[OP_WRITE] == 1 &&
		    workload_register.mix[OP_CAS] == 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find),	  cmocka_unit_test(test_names),
		cmocka_unit_test(test_op_names), cmocka_unit_test(test_key_names),
		cmocka_unit_test(test_rows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
