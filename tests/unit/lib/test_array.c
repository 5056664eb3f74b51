/* array: doubling growth, the zeroing variant and overflow. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>

#include "lib/array.h"
#include "lib/err.h"

static void test_grow(void **state)
{
	int *v = NULL;
	size_t cap = 0;
	assert_int_equal(array_grow((void **)&v, &cap, 0, sizeof *v, 8), 0);
	assert_null(v); /* nothing needed, nothing allocated */
	assert_int_equal(array_grow((void **)&v, &cap, 1, sizeof *v, 8), 0);
	assert_int_equal(cap, 8);
	for (int i = 0; i < 8; i++)
		v[i] = i;
	assert_int_equal(array_grow((void **)&v, &cap, 20, sizeof *v, 8), 0);
	assert_int_equal(cap, 32);
	for (int i = 0; i < 8; i++)
		assert_int_equal(v[i], i);
	/* Overflow: refused, the array unchanged. */
	int *before = v;
	assert_int_equal(array_grow((void **)&v, &cap, SIZE_MAX / 2, sizeof *v, 8), SB_ENOMEM);
	assert_ptr_equal(v, before);
	assert_int_equal(cap, 32);
	free(v);
}

static void test_grow_zero(void **state)
{
	unsigned char *v = NULL;
	size_t cap = 0;
	assert_int_equal(array_grow_zero((void **)&v, &cap, 3, 1, 16), 0);
	assert_int_equal(cap, 16);
	for (size_t i = 0; i < cap; i++) {
		assert_int_equal(v[i], 0);
		v[i] = 0xff;
	}
	assert_int_equal(array_grow_zero((void **)&v, &cap, 100, 1, 16), 0);
	assert_int_equal(cap, 128);
	for (size_t i = 0; i < cap; i++)
		assert_int_equal(v[i], i < 16 ? 0xff : 0);
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grow),
		cmocka_unit_test(test_grow_zero),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
