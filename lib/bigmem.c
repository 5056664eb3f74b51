#include "lib/bigmem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define HUGE_SZ ((size_t)2 << 20)

#if BIGMEM_MAPS
#define GAP 0
#define BIG(size) ((size) >= BIGMEM_MIN)
#else
#include <sanitizer/asan_interface.h>
#define GAP 64 /* poisoned, between carved parts */
#define BIG(size) 0
#endif

/* The mapped length of a block of `size` bytes: whole huge pages. 0 on overflow. */
static size_t mapped_len(size_t size)
{
	if (size > SIZE_MAX - 2 * HUGE_SZ)
		return 0;
	return (size + HUGE_SZ - 1) & ~(HUGE_SZ - 1);
}

/* len bytes (a multiple of HUGE_SZ) at a 2 MiB boundary: map HUGE_SZ more than asked and
 * give back the head and tail around the aligned part. */
static void *map_aligned(size_t len)
{
	char *p = mmap(NULL, len + HUGE_SZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	uintptr_t a = ((uintptr_t)p + HUGE_SZ - 1) & ~(uintptr_t)(HUGE_SZ - 1);
	size_t head = a - (uintptr_t)p;
	if (head)
		munmap(p, head);
	if (HUGE_SZ - head)
		munmap((char *)a + len, HUGE_SZ - head);
#ifdef MADV_HUGEPAGE
	madvise((void *)a, len, MADV_HUGEPAGE); /* advice only: failure changes nothing */
#endif
	return (void *)a;
}

void *bigmem_alloc(size_t size)
{
	if (!BIG(size))
		return malloc(size ? size : 1);
	size_t len = mapped_len(size);
	return len ? map_aligned(len) : NULL;
}

void *bigmem_zalloc(size_t size)
{
	if (!BIG(size))
		return calloc(1, size ? size : 1);
	size_t len = mapped_len(size);
	return len ? map_aligned(len) : NULL;
}

void *bigmem_grow(void *p, size_t oldsize, size_t newsize)
{
	if (!p)
		return bigmem_alloc(newsize);
	if (newsize <= oldsize)
		return p;
	if (!BIG(newsize))
		return realloc(p, newsize ? newsize : 1);
	size_t len = mapped_len(newsize);
	if (!len)
		return NULL;
	if (!BIG(oldsize)) { /* from the heap into a mapping: the one copy */
		void *q = map_aligned(len);
		if (!q)
			return NULL;
		memcpy(q, p, oldsize);
		free(p);
		return q;
	}
	size_t oldlen = mapped_len(oldsize);
	if (len == oldlen)
		return p;
	/* In place when the address space after the block is free; otherwise into a new aligned
	 * mapping, the old pages moved over its start without copying. */
	void *q = mremap(p, oldlen, len, 0);
	if (q != MAP_FAILED) {
#ifdef MADV_HUGEPAGE
		madvise(q, len, MADV_HUGEPAGE);
#endif
		return q;
	}
	q = map_aligned(len);
	if (!q)
		return NULL;
	if (mremap(p, oldlen, oldlen, MREMAP_MAYMOVE | MREMAP_FIXED, q) == MAP_FAILED) {
		munmap(q, len);
		return NULL;
	}
	return q;
}

void bigmem_free(void *p, size_t size)
{
	if (!p)
		return;
	if (!BIG(size))
		free(p);
	else
		munmap(p, mapped_len(size));
}

void *bigmem_take(struct bigmem_carve *cv, size_t bytes)
{
	char *p = cv->base ? cv->base + cv->off : NULL;
	size_t room = (bytes + 63) & ~(size_t)63;
#if !BIGMEM_MAPS
	if (p && room + GAP > bytes)
		ASAN_POISON_MEMORY_REGION(p + bytes, room + GAP - bytes);
#endif
	cv->off += room + GAP;
	return p;
}
