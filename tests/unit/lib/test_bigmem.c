/* bigmem: small blocks from the heap, large ones mapped at 2 MiB boundaries; growing keeps
 * the contents, across the switch from the heap to a mapping and across moves. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>
#include <sys/mman.h>

#include "lib/bigmem.h"

#define MIB ((size_t)1 << 20)

static void fill(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(i * 131 + seed);
}

static void expect(const unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (unsigned char)(i * 131 + seed))
			fail_msg("byte %zu of %zu changed", i, n);
}

static void test_small_and_large(void **state)
{
	unsigned char *s = bigmem_alloc(100);
	assert_non_null(s);
	fill(s, 100, 1);
	expect(s, 100, 1);
	bigmem_free(s, 100);

	size_t n = BIGMEM_MIN + 12345;
	unsigned char *l = bigmem_alloc(n);
	assert_non_null(l);
	if (BIGMEM_MAPS)
		assert_int_equal((uintptr_t)l % (2 * MIB), 0); /* a huge page can back it */
	fill(l, n, 2);
	expect(l, n, 2);
	bigmem_free(l, n);
	bigmem_free(NULL, n);
}

static void test_zalloc(void **state)
{
	size_t sizes[] = {1, 4096, BIGMEM_MIN - 1, BIGMEM_MIN, 3 * MIB + 7};
	for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
		unsigned char *p = bigmem_zalloc(sizes[k]);
		assert_non_null(p);
		for (size_t i = 0; i < sizes[k]; i++)
			if (p[i])
				fail_msg("byte %zu of a zeroed block of %zu is %u", i, sizes[k], p[i]);
		bigmem_free(p, sizes[k]);
	}
}

/* From NULL through the heap into a mapping and on, doubling as the callers do; every size
 * keeps what was written before it. */
static void test_grow(void **state)
{
	unsigned char *p = NULL;
	size_t size = 0;
	for (size_t next = 1000; next <= 40 * MIB; next *= 2) {
		unsigned char *q = bigmem_grow(p, size, next);
		assert_non_null(q);
		expect(q, size, 3);
		if (BIGMEM_MAPS && next >= BIGMEM_MIN)
			assert_int_equal((uintptr_t)q % (2 * MIB), 0);
		fill(q, next, 3);
		p = q;
		size = next;
	}
	/* not larger: the same block */
	assert_ptr_equal(bigmem_grow(p, size, size), p);
	assert_ptr_equal(bigmem_grow(p, size, size - 1), p);
	bigmem_free(p, size);
}

/* A block that cannot grow in place (the next 2 MiB are taken) moves, contents and all. */
static void test_grow_moves(void **state)
{
	if (!BIGMEM_MAPS)
		skip(); /* realloc's business */
	size_t n = 2 * MIB;
	unsigned char *p = bigmem_alloc(n);
	assert_non_null(p);
	fill(p, n, 4);
	void *wall = mmap(p + n, 2 * MIB, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
			  -1, 0);
	if (wall == MAP_FAILED)
		wall = NULL; /* something else is there already: the block must move all the same */
	unsigned char *q = bigmem_grow(p, n, 3 * n);
	assert_non_null(q);
	assert_ptr_not_equal(q, p);
	assert_int_equal((uintptr_t)q % (2 * MIB), 0);
	expect(q, n, 4);
	memset(q + n, 0xab, 2 * n); /* the new part is writable */
	bigmem_free(q, 3 * n);
	if (wall)
		munmap(wall, 2 * MIB);
}

/* Carving: the sizing pass and the carving pass agree; parts are 64-byte aligned, in order,
 * apart, and usable to their last byte. */
static void test_carve(void **state)
{
	size_t sizes[] = {1, 63, 64, 65, 4000, 3};
	size_t np = sizeof sizes / sizeof *sizes;
	struct bigmem_carve cv = {0};
	for (size_t i = 0; i < np; i++)
		assert_null(bigmem_take(&cv, sizes[i]));
	size_t total = cv.off;
	assert_true(total >= 1 + 63 + 64 + 65 + 4000 + 3);
	char *base = bigmem_alloc(total);
	assert_non_null(base);
	cv = (struct bigmem_carve){.base = base};
	unsigned char *part[6];
	for (size_t i = 0; i < np; i++) {
		part[i] = bigmem_take(&cv, sizes[i]);
		assert_int_equal((uintptr_t)(part[i] - (unsigned char *)base) % 64, 0);
		if (i)
			assert_true(part[i] >= part[i - 1] + sizes[i - 1]);
		memset(part[i], (int)i, sizes[i]);
	}
	assert_int_equal(cv.off, total);
	for (size_t i = 0; i < np; i++)
		for (size_t b = 0; b < sizes[i]; b++)
			assert_int_equal(part[i][b], i);
	bigmem_free(base, total);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_and_large),
		cmocka_unit_test(test_zalloc),
		cmocka_unit_test(test_grow),
		cmocka_unit_test(test_grow_moves),
		cmocka_unit_test(test_carve),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
